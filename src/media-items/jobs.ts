// The media library's queue: `thumbnail` carries media item ids only (files use `file-process`).
import { defineJob } from '../platform/queue/define-job.js';
import type { MediaItemService } from './service.js';

declare module '../platform/queue/registry.js' {
  interface QueuePayloads {
    thumbnail: { accountId: string; mediaItemId: string };
  }
}

export const thumbnailJob = defineJob({
  name: 'thumbnail',
  handle: (service: MediaItemService, payload, job) => service.makeThumbnail(payload, job.signal),
});
