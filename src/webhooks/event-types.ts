// The webhook event type of a logged event: `<record>.<what happened>`, e.g.
// media_item.created, media_item.thumbnail_ready, media_item.downloaded,
// file.ready, file.failed, fetch_job.running, fetch_job.success,
// download_task.failed, webhook_endpoint.disabled, ping. Endpoints subscribe
// with exact types or patterns ("file.*", "*").
import { ValidationError } from '../platform/errors.js';

export interface LoggedEvent {
  topic: string;
  type: string;
  data: Record<string, unknown>;
}

export function webhookEventType(event: LoggedEvent): string {
  const record = event.topic.replace(/-/g, '_');
  if (record === 'ping') return 'ping';
  const what = typeof event.data.change === 'string' ? event.data.change : event.type === 'STATE' && typeof event.data.status === 'string' ? event.data.status : event.type;
  return `${record}.${what.toLowerCase()}`;
}

const PATTERN = /^(\*|[a-z_]+\.(\*|[a-z_]+)|ping)$/;

export function validateEventTypes(patterns: readonly string[]): string[] {
  if (!patterns.length) throw new ValidationError('eventTypes', 'name at least one event type or pattern, e.g. "file.ready", "fetch_job.*" or "*"');
  return patterns.map((p) => {
    const pattern = p.trim().toLowerCase();
    if (!PATTERN.test(pattern)) throw new ValidationError('eventTypes', `"${p}" is not an event type or pattern like file.ready, fetch_job.* or *`);
    return pattern;
  });
}

export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}
