// Registers the `fetch-job` queue handler in work/all processes.
import type { JobQueue } from '../queue/queue.js';
import type { AppServices } from '../services.js';

export function registerFetchJobWorker(queue: JobQueue, services: AppServices): void {
  queue.work('fetch-job', (payload, job) => services.fetchJobs.run(payload, job));
}
