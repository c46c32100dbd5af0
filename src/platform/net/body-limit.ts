// Byte counting between the socket and the consumer. A Transform behind
// pipe() keeps backpressure end to end: when the consumer stops reading, the
// transform's buffer fills, the source pauses and undici stops reading the
// socket, so memory stays flat however large the response is.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ResponseTooLargeError, type FetchError } from './errors.js';

export interface LimitOptions {
  /** Unlimited when undefined. */
  maxBytes: number | undefined;
  /** Turns source errors (undici's) into typed errors. */
  mapError: (err: unknown) => FetchError;
  /** Runs once when the limited stream is finished, failed or destroyed. */
  onClose: () => void;
}

class ByteLimiter extends Transform {
  private seen = 0;
  constructor(private readonly maxBytes: number | undefined) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.maxBytes !== undefined && this.seen > this.maxBytes) {
      callback(new ResponseTooLargeError(this.maxBytes));
      return;
    }
    callback(null, chunk);
  }
  get bytesRead(): number {
    return this.seen;
  }
}

export type LimitedBody = Readable & { readonly bytesRead: number };

export function limitBody(source: Readable, o: LimitOptions): LimitedBody {
  const out = new ByteLimiter(o.maxBytes);
  // pipe() (not pipeline()) so we decide which error the consumer sees:
  // pipeline would forward undici's raw error to the last stream.
  source.on('error', (err) => out.destroy(o.mapError(err)));
  source.pipe(out);
  let closed = false;
  out.once('close', () => {
    if (closed) return;
    closed = true;
    source.unpipe(out);
    // Consumer gave up (or the cap hit): stop the download too.
    if (!source.destroyed) source.destroy();
    o.onClose();
  });
  return out;
}

/** Reads a stream into memory, refusing to hold more than `limit` bytes. */
export async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) throw new ResponseTooLargeError(limit);
      chunks.push(buf);
    }
  } finally {
    // Early exit (error or limit) must still free the socket.
    if (!stream.destroyed && !stream.readableEnded) stream.destroy();
  }
  return Buffer.concat(chunks, size);
}
