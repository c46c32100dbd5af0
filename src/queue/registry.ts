// The queues and what their jobs carry. A job is a work order that points at a
// row in its domain's table (the truth clients see), so payloads hold ids only.
// Domains refine their payload here; tests add queues by declaration merging.
export interface QueuePayloads {
  'fetch-job': { accountId: string; fetchJobId: string };
  'download-task': { accountId: string; downloadTaskId: string };
  'file-process': { accountId: string; fileId: string };
  'file-sweep': Record<string, never>;
  thumbnail: { accountId: string; mediaItemId: string };
  // attempt: which try this job makes (1-based), so a stale duplicate job does nothing.
  webhook: { accountId: string; deliveryId: string; attempt?: number };
  'storage-delete': { accountId: string; storage: string; key: string };
}

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

const DEFAULT_POLICY: QueuePolicy = { retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: 15 * 60 };

/** The queues every process creates at start. */
export type CoreQueueName = 'fetch-job' | 'download-task' | 'file-process' | 'file-sweep' | 'thumbnail' | 'webhook' | 'storage-delete';

export const QUEUES: Record<CoreQueueName, QueuePolicy> = {
  'fetch-job': { ...DEFAULT_POLICY, expireInSeconds: 60 * 60 },
  'download-task': { ...DEFAULT_POLICY, expireInSeconds: 60 * 60 },
  'file-process': DEFAULT_POLICY,
  'file-sweep': { ...DEFAULT_POLICY, expireInSeconds: 5 * 60 },
  thumbnail: DEFAULT_POLICY,
  // Receiver failures are retried by src/webhooks itself (a new job per attempt, WEBHOOK_RETRY_*);
  // pg-boss retries only cover a crashed worker or an unreachable database. WEBHOOK_TIMEOUT_MS is at most 120 s.
  webhook: { ...DEFAULT_POLICY, retryLimit: 5, retryDelay: 5, expireInSeconds: 5 * 60 },
  // Orphan objects cost money forever; keep trying.
  'storage-delete': { ...DEFAULT_POLICY, retryLimit: 10, retryDelay: 5 },
};

export const DEFAULT_QUEUE_POLICY = DEFAULT_POLICY;

export const deadLetterOf = (name: string): string => `${name}-dlq`;
