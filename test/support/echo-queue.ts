// A test-only queue whose handler reports what happens to each job.
import type { QueuePolicy } from '../../src/platform/queue/registry.js';

export interface EchoPayload {
  key: string;
  sleepMs?: number;
  fail?: boolean;
}

declare module '../../src/platform/queue/registry.js' {
  interface QueuePayloads {
    'test-echo': EchoPayload;
  }
}

export const ECHO_QUEUE = 'test-echo';
/** Sender and workers must agree: each process's start keeps the queue's options in step with its own. */
export const ECHO_POLICY: Partial<QueuePolicy> = { retryLimit: 2, retryDelay: 1, retryBackoff: true, expireInSeconds: 60 };
