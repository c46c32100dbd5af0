// Image work with bounded memory, shared by every queue that decodes images in
// a process (media-item thumbnails, file processing).
//
// - At most `concurrency` images are worked on at once per process; the rest
//   wait for a slot (a job's abort signal takes it out of the line).
// - A source is streamed from storage to a temp file, never into memory:
//   sharp buffers a stream input whole before it decodes (lib/input.js
//   `_write`), which is how four 200 MB images once held a worker at 1.7 GB.
//   From a file, libvips reads sequentially (JPEG and WebP shrink while
//   loading) and decodes what needs random access (an EXIF-rotated PNG) into
//   a disk temp file once it passes its 100 MB threshold.
// - Bytes are counted while they stream: past the cap the copy stops and the
//   image is refused. Pixels are checked from the header before decoding.
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import { ImageRejectedError, makeThumbnail, readImageInfo, THUMBNAIL_MAX_EDGE, type ImageInfo, type Thumbnail } from './thumbnail.js';

// libvips' operation cache pays off when the same input is processed again; a
// worker never does that, so the cache only held memory (and kept deleted temp
// files open). Process-wide, like libvips itself.
sharp.cache(false);

/** Bytes kept from the start of a source, enough for any type sniffer (file-type reads 4100). */
export const IMAGE_HEAD_BYTES = 4100;

export interface ImageLimits {
  /** images decoded at once in this process */
  concurrency: number;
  maxSourceBytes: number;
  maxPixels: number;
}

/** A stored image copied to local disk for the duration of one piece of work. */
export interface LocalImage {
  /** gone once the callback given to withLocalCopy returns */
  path: string;
  size: number;
  /** the first IMAGE_HEAD_BYTES bytes (fewer for a smaller source), for sniffing */
  head: Buffer;
}

export class SourceTooLargeError extends ImageRejectedError {
  constructor(readonly maxBytes: number) {
    super(`the image source is larger than ${maxBytes} bytes`);
  }
}

/** Counts bytes, stops past the cap, keeps the first few for sniffing. */
class CappedCopy extends Transform {
  bytes = 0;
  private readonly headChunks: Buffer[] = [];
  private headBytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  get head(): Buffer {
    return Buffer.concat(this.headChunks).subarray(0, IMAGE_HEAD_BYTES);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(new SourceTooLargeError(this.maxBytes));
    if (this.headBytes < IMAGE_HEAD_BYTES) {
      const part = chunk.subarray(0, IMAGE_HEAD_BYTES - this.headBytes);
      this.headChunks.push(Buffer.from(part));
      this.headBytes += part.length;
    }
    done(null, chunk);
  }
}

/** A counting semaphore whose waiters leave the line when their signal aborts. */
class Slots {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        };
        const leave = () => {
          this.waiting.splice(this.waiting.indexOf(grant), 1);
          reject(signal!.reason);
        };
        this.waiting.push(grant);
        signal?.addEventListener('abort', leave, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A waiter takes the slot over directly, so no newcomer can jump the line.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

export class ImageWork {
  private readonly slots: Slots;

  constructor(
    readonly limits: ImageLimits,
    private readonly tmpDir = path.join(os.tmpdir(), 'media-gateway-images'),
  ) {
    this.slots = new Slots(limits.concurrency);
  }

  /**
   * Waits for a slot, streams the source (opened only then) to a temp file
   * (at most maxBytes and the configured cap), runs `use` on it, and removes
   * the file whatever happens.
   */
  async withLocalCopy<T>(open: () => Promise<Readable>, options: { maxBytes?: number; signal?: AbortSignal }, use: (image: LocalImage) => Promise<T>): Promise<T> {
    const release = await this.slots.acquire(options.signal);
    const file = path.join(this.tmpDir, `${randomUUID()}.img`);
    let sink: WriteStream | undefined;
    try {
      await mkdir(this.tmpDir, { recursive: true });
      const copy = new CappedCopy(Math.min(options.maxBytes ?? Number.POSITIVE_INFINITY, this.limits.maxSourceBytes));
      sink = createWriteStream(file, { flags: 'wx' });
      await pipeline(await open(), copy, sink, { signal: options.signal });
      return await use({ path: file, size: copy.bytes, head: copy.head });
    } finally {
      // A copy cut short may still be opening its file: removing it before then would leave it behind.
      if (sink && !sink.closed) await once(sink, 'close').catch(() => {});
      await rm(file, { force: true });
      release();
    }
  }

  /** Format and display size from the header; over the pixel cap is refused before any decoding. */
  async info(image: LocalImage): Promise<ImageInfo> {
    const { maxPixels } = this.limits;
    const info = await readImageInfo(image.path, maxPixels);
    if (info.width * info.height > maxPixels) {
      throw new ImageRejectedError(`the image is ${info.width}×${info.height}, over the ${maxPixels} pixel limit`);
    }
    return info;
  }

  thumbnail(image: LocalImage, maxEdge = THUMBNAIL_MAX_EDGE): Promise<Thumbnail> {
    return makeThumbnail(image.path, maxEdge, this.limits.maxPixels);
  }
}
