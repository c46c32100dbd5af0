// Makes and stores an item's thumbnail; the service records it.
import { Readable } from 'node:stream';
import { ImageRejectedError } from '../platform/images/thumbnail.js';
import type { ImageWork } from '../platform/images/work.js';
import type { Logger } from '../platform/logger.js';
import type { StorageDriver } from '../platform/storage/driver.js';
import type { MediaItem } from './tables.js';

export interface StoredThumbnail {
  key: string;
  /** of the original, after EXIF rotation */
  width: number;
  height: number;
}

export const thumbnailKeyOf = (item: Pick<MediaItem, 'objectKey'>) => item.objectKey.replace(/\/original$/, '/thumbnail.webp');

/** null when the content is not an image sharp can read, or over a cap: retrying would not help. */
export async function runThumbnail(images: ImageWork, driver: StorageDriver, item: MediaItem, logger: Logger, signal?: AbortSignal): Promise<StoredThumbnail | null> {
  const skip = (reason: string) => {
    logger.info({ mediaItemId: item.id, reason }, 'no thumbnail for media item');
    return null;
  };
  // Larger sources are not worth copying for a 320 px preview; the copy enforces the cap again as it streams.
  if (item.mediaSize > images.limits.maxSourceBytes) return skip(`the source is larger than ${images.limits.maxSourceBytes} bytes`);
  let made;
  try {
    made = await images.withLocalCopy(async () => (await driver.get(item.objectKey)).body, { signal }, async (source) => ({
      info: await images.info(source),
      thumb: await images.thumbnail(source),
    }));
  } catch (err) {
    if (err instanceof ImageRejectedError) return skip(err.message);
    throw err;
  }
  const key = thumbnailKeyOf(item);
  await driver.put(key, Readable.from([made.thumb.data]), { contentType: made.thumb.contentType });
  return { key, width: made.info.width, height: made.info.height };
}
