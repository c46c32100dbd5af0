// One pass over the bytes gives size, sha256 (and md5 for the local etag), and
// stops a stream the moment it crosses maxBytes, so no driver buffers or
// re-reads an object to learn these.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ObjectTooLargeError } from './errors.js';

export interface HashingOptions {
  maxBytes?: number;
  md5?: boolean;
}

export class HashingStream extends Transform {
  // Not called `size`: lib-storage reads `Body.size` as the total length.
  byteCount = 0;
  private readonly sha256 = createHash('sha256');
  private readonly md5: Hash | undefined;
  private readonly maxBytes: number;
  private digests: { sha256: string; md5?: string } | undefined;

  constructor(options: HashingOptions = {}) {
    super();
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.md5 = options.md5 ? createHash('md5') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.byteCount += buf.length;
    if (this.byteCount > this.maxBytes) {
      callback(new ObjectTooLargeError(this.maxBytes));
      return;
    }
    this.sha256.update(buf);
    this.md5?.update(buf);
    callback(null, buf);
  }

  override _flush(callback: TransformCallback): void {
    this.digests = { sha256: this.sha256.digest('hex'), md5: this.md5?.digest('hex') };
    callback();
  }

  /** hex; only after the stream has ended */
  get sha256Hex(): string {
    if (!this.digests) throw new Error('HashingStream has not finished');
    return this.digests.sha256;
  }

  get md5Hex(): string {
    if (!this.digests?.md5) throw new Error('HashingStream has not finished or md5 was not requested');
    return this.digests.md5;
  }
}
