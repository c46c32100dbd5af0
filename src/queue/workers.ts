// Where each domain registers its job handlers; `work` and `all` processes call this
// before starting the queue. A domain adds one line, e.g.
//   queue.work('fetch-job', (payload, job) => services.fetchJobs.run(payload, job));
import type { AppServices } from '../services.js';
import { registerStorageDeleteWorker } from '../storage/delete-worker.js';
import type { JobQueue } from './queue.js';

export function registerWorkers(queue: JobQueue, services: AppServices): void {
  registerStorageDeleteWorker(queue, services.storage);
}
