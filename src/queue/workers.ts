// Where each domain registers its job handlers; `work` and `all` processes call this
// before starting the queue. A domain adds one line, e.g.
//   queue.work('fetch-job', (payload, job) => services.fetchJobs.run(payload, job));
import type { AppServices } from '../services.js';
import { registerFileWorkers } from '../files/workers.js';
import { registerStorageDeleteWorker } from '../storage/delete-worker.js';
import type { JobQueue } from './queue.js';
import { registerWebhookWorker } from '../webhooks/workers.js';
import { registerMediaItemWorkers } from '../media-items/workers.js';
import { registerFetchJobWorker } from '../fetch-jobs/register.js';

export function registerWorkers(queue: JobQueue, services: AppServices): void {
  registerStorageDeleteWorker(queue, services.storage);
  registerWebhookWorker(queue, services);
  registerMediaItemWorkers(queue, services);
  registerFileWorkers(queue, services);
  registerFetchJobWorker(queue, services);
}
