// The streaming side of an upload: look at the first bytes to learn what the
// file really is, then hand the whole stream on to storage. Only the peeked
// head is ever held in memory.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { readImageInfo } from '../platform/images/thumbnail.js';
import { sniffMime } from '../platform/net/sniff.js';

/** file-type needs ~4100 bytes; image headers (EXIF included) usually fit in 64 KiB. */
export const PEEK_BYTES = 64 * 1024;

export interface Peeked {
  head: Buffer;
  /** The full content again, head included. */
  stream: Readable;
}

export async function peek(source: Readable, want = PEEK_BYTES): Promise<Peeked> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < want) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay() {
    yield head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  // Stopping early (too large, store failure) must release the source too.
  const stream = Readable.from(replay(), { objectMode: false });
  stream.once('close', () => void iterator.return?.().catch(() => {}));
  return { head: head.subarray(0, want), stream };
}

/** yoga hands over a ponyfilled File whose stream Readable.fromWeb refuses; its reader works everywhere. */
export function fileStream(file: File): Readable {
  const reader = (file.stream() as unknown as WebReadableStream<Uint8Array>).getReader();
  async function* chunks() {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

export interface Inspected {
  mimeType: string;
  width: number | null;
  height: number | null;
}

/** The client's Content-Type is ignored: the bytes decide. */
export async function inspectHead(head: Buffer): Promise<Inspected> {
  const sniffed = await sniffMime(head.subarray(0, 4100));
  const mimeType = sniffed?.mime ?? 'application/octet-stream';
  let width: number | null = null;
  let height: number | null = null;
  if (mimeType.startsWith('image/')) {
    // A header that does not fit in the peek is measured later by the thumbnail worker.
    const info = await readImageInfo(head).catch(() => undefined);
    if (info) ({ width, height } = info);
  }
  return { mimeType, width, height };
}
