// The `webhook` queue's handler, registered by src/queue/workers.ts.
import type { JobQueue } from '../queue/queue.js';
import type { AppServices } from '../services.js';

export function registerWebhookWorker(queue: JobQueue, services: AppServices): void {
  queue.work('webhook', (payload, job) => services.webhooks.deliver(payload, { signal: job.signal }));
}
