// Image work shared by every domain that makes thumbnails. sharp streams and
// decodes in libvips; limitInputPixels makes a decompression bomb fail fast
// instead of allocating gigabytes.
import sharp from 'sharp';

export const THUMBNAIL_MAX_EDGE = 320;
/** 100 megapixels: far above any camera, far below what would exhaust memory. */
export const MAX_INPUT_PIXELS = 100_000_000;

export class ImageRejectedError extends Error {
  readonly code = 'IMAGE_REJECTED';
}

export interface ImageInfo {
  format: string;
  /** Display size, after EXIF orientation. */
  width: number;
  height: number;
}

function rejected(err: unknown, maxPixels: number): ImageRejectedError {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) return new ImageRejectedError(`the image is over the ${maxPixels} pixel limit`);
  return new ImageRejectedError(`not a readable image: ${message}`);
}

/** Reads the header only; width/height are swapped for EXIF orientations 5-8. */
export async function readImageInfo(input: Buffer | string, maxPixels = MAX_INPUT_PIXELS): Promise<ImageInfo> {
  try {
    const meta = await sharp(input, { limitInputPixels: maxPixels }).metadata();
    if (!meta.width || !meta.height || !meta.format) throw new Error('no dimensions');
    const rotated = (meta.orientation ?? 1) >= 5;
    return { format: meta.format, width: rotated ? meta.height : meta.width, height: rotated ? meta.width : meta.height };
  } catch (err) {
    throw rejected(err, maxPixels);
  }
}

export interface Thumbnail {
  data: Buffer;
  width: number;
  height: number;
  contentType: 'image/webp';
}

/**
 * EXIF-rotated WebP that fits in maxEdge × maxEdge, never enlarged. Given a
 * file path, libvips reads it sequentially (JPEG and WebP shrink while
 * loading), so memory stays far below the decoded image's size.
 */
export async function makeThumbnail(input: Buffer | string, maxEdge = THUMBNAIL_MAX_EDGE, maxPixels = MAX_INPUT_PIXELS): Promise<Thumbnail> {
  try {
    const { data, info } = await sharp(input, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .resize(maxEdge, maxEdge, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 78 })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, contentType: 'image/webp' };
  } catch (err) {
    throw rejected(err, maxPixels);
  }
}
