// One delivery attempt over the safe fetcher, and what its result means for
// the delivery: delivered, retry later, or stop for good.
import { UrlNotAllowedError, isFetchError, safeFetch, type EgressPolicy } from '../platform/net/index.js';
import { signedHeaders } from './signing.js';

export type AttemptOutcome = 'DELIVERED' | 'RETRY' | 'GAVE_UP' | 'FAILED';

export interface AttemptResult {
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface AttemptRequest {
  url: string;
  webhookId: string;
  /** More than one while an endpoint's rotated secret is in its grace period. */
  secrets: readonly string[];
  body: string;
  policy: EgressPolicy;
  /** The job's signal: expiry or shutdown abort the request and the attempt is not recorded. */
  signal?: AbortSignal;
}

/** Standard Webhooks payload: the body is identical on every attempt; only the headers' timestamp moves. */
export function webhookBody(eventType: string, occurredAt: Date, data: Record<string, unknown>): string {
  return JSON.stringify({ type: eventType, timestamp: occurredAt.toISOString(), data });
}

export function outcomeOfStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'DELIVERED';
  // Standard Webhooks: 410 Gone means the receiver wants no more of these.
  if (status === 410) return 'GAVE_UP';
  return 'RETRY';
}

export async function sendAttempt(req: AttemptRequest): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await safeFetch(req.url, {
      method: 'POST',
      headers: {
        ...signedHeaders(req.secrets, req.webhookId, timestamp, req.body),
        'content-type': 'application/json',
        'user-agent': 'media-gateway',
      },
      body: req.body,
      signal: req.signal,
      policy: req.policy,
    });
    // Only the status matters; dropping the body frees the socket at once.
    res.dispose();
    const outcome = outcomeOfStatus(res.status);
    return { outcome, statusCode: res.status, error: outcome === 'DELIVERED' ? null : `HTTP ${res.status}`, durationMs: elapsed() };
  } catch (err) {
    // Our own job was stopped (expiry, shutdown): not the receiver's fault, so not an attempt.
    if (req.signal?.aborted) throw err;
    if (err instanceof UrlNotAllowedError) {
      // The egress policy answers the same every time: retrying cannot help.
      return { outcome: 'FAILED', statusCode: null, error: `${err.code}: ${err.reason}`, durationMs: elapsed() };
    }
    const error = isFetchError(err) ? `${err.code}: ${err.message}` : `ERROR: ${err instanceof Error ? err.message : String(err)}`;
    return { outcome: 'RETRY', statusCode: null, error, durationMs: elapsed() };
  }
}
