// The `webhook` queue: one delivery attempt per job.
import { defineJob } from '../platform/queue/define-job.js';
import type { DeliveryJob, WebhookService } from './service.js';

declare module '../platform/queue/registry.js' {
  interface QueuePayloads {
    webhook: DeliveryJob;
  }
}

export const webhookJob = defineJob({
  name: 'webhook',
  // Receiver failures are retried by the service itself (a new job per attempt, WEBHOOK_RETRY_*);
  // pg-boss retries only cover a crashed worker or an unreachable database. WEBHOOK_TIMEOUT_MS is at most 120 s.
  policy: { retryLimit: 5, retryDelay: 5, expireInSeconds: 5 * 60 },
  handle: (service: WebhookService, payload, job) => service.deliver(payload, { signal: job.signal }),
});
