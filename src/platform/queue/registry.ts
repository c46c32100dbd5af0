// What each queue's jobs carry. A job is a work order that points at a row in
// its domain's table (the truth clients see), so payloads hold ids only.
// Domains add their queues by declaration merging next to their handlers,
// as graphile-worker's task payloads do:
//
//   declare module '../platform/queue/registry.js' {
//     interface QueuePayloads { 'fetch-job': { accountId: string; fetchJobId: string } }
//   }
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface QueuePayloads {}

export type QueueName = keyof QueuePayloads & string;
export type PayloadOf<Q extends QueueName> = QueuePayloads[Q];

export interface QueuePolicy {
  /** Attempts after the first; the job then moves to `<name>-dlq`. */
  retryLimit: number;
  /** Seconds before the first retry; doubles (with jitter) each time when retryBackoff. */
  retryDelay: number;
  retryBackoff: boolean;
  /** A running job is failed (and its handler aborted) after this long. */
  expireInSeconds: number;
}

export const DEFAULT_QUEUE_POLICY: QueuePolicy = { retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: 15 * 60 };

export const deadLetterOf = (name: string): string => `${name}-dlq`;
