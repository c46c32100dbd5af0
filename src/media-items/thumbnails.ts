// Makes and stores an item's thumbnail; the service records it.
import { Readable } from 'node:stream';
import { ImageRejectedError, makeThumbnail, readImageInfo } from '../platform/images/thumbnail.js';
import type { Logger } from '../platform/logger.js';
import type { StorageDriver } from '../platform/storage/driver.js';
import type { MediaItem } from './tables.js';

/** Larger sources are not worth decoding for a 320 px preview. */
const MAX_SOURCE_BYTES = 256 * 1024 * 1024;

export interface StoredThumbnail {
  key: string;
  /** of the original, after EXIF rotation */
  width: number;
  height: number;
}

export const thumbnailKeyOf = (item: Pick<MediaItem, 'objectKey'>) => item.objectKey.replace(/\/original$/, '/thumbnail.webp');

/** null when the content is not an image sharp can read: retrying would not help. */
export async function runThumbnail(driver: StorageDriver, item: MediaItem, logger: Logger): Promise<StoredThumbnail | null> {
  if (item.mediaSize > MAX_SOURCE_BYTES) return null;
  const { body } = await driver.get(item.objectKey);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const source = Buffer.concat(chunks);
  try {
    const info = await readImageInfo(source);
    const thumb = await makeThumbnail(source);
    const key = thumbnailKeyOf(item);
    await driver.put(key, Readable.from([thumb.data]), { contentType: thumb.contentType });
    return { key, width: info.width, height: info.height };
  } catch (err) {
    if (err instanceof ImageRejectedError) {
      logger.info({ mediaItemId: item.id, reason: err.message }, 'no thumbnail for media item');
      return null;
    }
    throw err;
  }
}
