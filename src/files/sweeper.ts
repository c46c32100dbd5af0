// Expired direct uploads. FileService.createUpload schedules one `file-sweep`
// job per minute of uploads, due after they have all expired, so sweeps run
// only when there is something to sweep and need no timer or leader election:
// the sweep's guarded UPDATE … SKIP LOCKED lets any number of workers share it.
import type { JobQueue } from '../queue/queue.js';
import type { FileService } from './service.js';

export function registerFileSweeper(queue: JobQueue, files: FileService): void {
  queue.work('file-sweep', async () => {
    await files.sweepExpiredUploads(new Date());
  }, { concurrency: 1 });
}
