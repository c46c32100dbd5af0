// The storage-delete queue: domains delete their row at once and leave the
// objects to this job, which retries (with backoff) until the store confirms.
import { defineJob } from '../queue/define-job.js';
import type { Storage } from './setup.js';

declare module '../queue/registry.js' {
  interface QueuePayloads {
    'storage-delete': { accountId: string; storage: string; key: string };
  }
}

export const storageDeleteJob = defineJob({
  name: 'storage-delete',
  // Orphan objects cost money forever; keep trying.
  policy: { retryLimit: 10, retryDelay: 5 },
  // delete() is idempotent: a retry after a lost acknowledgement is harmless.
  handle: (storage: Storage, { storage: location, key }) => storage.forUrl(location).delete(key),
});
