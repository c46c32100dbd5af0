// A job kind as its domain declares it: the queue name, its policy and the
// handler, side by side. The domain lists its jobs in module.ts; src/app
// creates every queue in every process and binds the handlers where workers run.
import { DEFAULT_QUEUE_POLICY, type PayloadOf, type QueueName, type QueuePolicy } from './registry.js';
import type { JobContext } from './worker.js';

export interface JobDefinition<Q extends QueueName = QueueName, S = any> {
  name: Q;
  policy: QueuePolicy;
  /** Jobs of this queue one process runs at once; WORKER_CONCURRENCY when unset. */
  concurrency?: number;
  /** Runs one job with the service that owns the queue. Throwing asks for a retry. */
  handle(service: S, payload: PayloadOf<Q>, job: JobContext): Promise<unknown>;
}

export function defineJob<Q extends QueueName, S>(definition: {
  name: Q;
  policy?: Partial<QueuePolicy>;
  concurrency?: number;
  handle(service: S, payload: PayloadOf<Q>, job: JobContext): Promise<unknown>;
}): JobDefinition<Q, S> {
  return { ...definition, policy: { ...DEFAULT_QUEUE_POLICY, ...definition.policy } };
}
