// Keeps the event log to its retention window. Each run prunes and books the
// next one an hour later; every worker process books one at start, and the
// singleton key folds those into one per hour.
import { defineJob } from '../queue/define-job.js';
import type { JobQueue } from '../queue/queue.js';
import type { EventLog } from './log.js';

declare module '../queue/registry.js' {
  interface QueuePayloads {
    'event-prune': Record<string, never>;
  }
}

const EVERY_SECONDS = 3600;

export interface EventPruner {
  log: Pick<EventLog, 'prune'>;
  queue: Pick<JobQueue, 'send'>;
  retentionSeconds: number;
}

export function bookNextPrune(queue: Pick<JobQueue, 'send'>, inSeconds = EVERY_SECONDS): Promise<unknown> {
  return queue.send('event-prune', {}, { startAfter: inSeconds, singletonKey: 'event-prune', singletonSeconds: EVERY_SECONDS });
}

export const eventPruneJob = defineJob({
  name: 'event-prune',
  policy: { expireInSeconds: 15 * 60 },
  concurrency: 1,
  async handle(pruner: EventPruner) {
    await pruner.log.prune(new Date(Date.now() - pruner.retentionSeconds * 1000));
    await bookNextPrune(pruner.queue);
  },
});
