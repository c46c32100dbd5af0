// The files domain's job handlers, registered by src/queue/workers.ts.
import type { JobQueue } from '../queue/queue.js';
import type { AppServices } from '../services.js';
import { processFile } from './processing.js';
import { registerFileSweeper } from './sweeper.js';

export function registerFileWorkers(queue: JobQueue, services: AppServices): void {
  queue.work('file-process', (payload, job) => processFile(services.files, payload, job));
  registerFileSweeper(queue, services.files);
}
