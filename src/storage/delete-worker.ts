// The storage-delete queue: domains delete their row at once and leave the
// objects to this worker, which retries (with backoff) until the store confirms.
import type { JobQueue } from '../queue/queue.js';
import type { Storage } from './setup.js';

export function registerStorageDeleteWorker(queue: JobQueue, storage: Storage): void {
  queue.work('storage-delete', async ({ storage: location, key }) => {
    // delete() is idempotent: a retry after a lost acknowledgement is harmless.
    await storage.forUrl(location).delete(key);
  });
}
