// The media library's queue: `thumbnail` carries media item ids only (files use `file-process`).
import type { JobQueue } from '../queue/queue.js';
import type { AppServices } from '../services.js';

export function registerMediaItemWorkers(queue: JobQueue, services: Pick<AppServices, 'mediaItems'>): void {
  queue.work('thumbnail', (payload) => services.mediaItems.makeThumbnail(payload));
}
