// Sits between the network and storage: holds back only the first 4 KiB to
// sniff them, refuses the stream at once when the type is not accepted (so a
// wrong file costs 4 KiB, not its whole size), and counts bytes for progress.
// Everything after the first 4 KiB passes straight through: memory stays flat.
import { Transform, type TransformCallback } from 'node:stream';
import { mimeMatches, sniffMime } from '../net/index.js';
import { FetchJobFailure } from './failures.js';
import { PROBE_BYTES } from './probe.js';

export class MimeGate extends Transform {
  bytes = 0;
  mimeType: string | null = null;
  ext: string | undefined;
  private head: Buffer[] | null = [];
  private headBytes = 0;

  constructor(private readonly accepted: readonly string[] | null) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (!this.head) return done(null, chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < PROBE_BYTES) return done();
    this.release(done);
  }

  override _flush(done: TransformCallback): void {
    if (this.head) this.release(done);
    else done();
  }

  private release(done: TransformCallback): void {
    const head = Buffer.concat(this.head ?? []);
    this.head = null;
    sniffMime(head.subarray(0, PROBE_BYTES)).then(
      (sniffed) => {
        this.mimeType = sniffed?.mime ?? (head.length ? 'application/octet-stream' : null);
        this.ext = sniffed?.ext;
        if (this.accepted && !(this.mimeType && mimeMatches(this.mimeType, this.accepted))) {
          return done(new FetchJobFailure('MIME_NOT_ACCEPTED', `The media is ${this.mimeType ?? 'empty'}; accepted: ${this.accepted.join(', ')}`));
        }
        done(null, head);
      },
      (err: unknown) => done(err as Error),
    );
  }
}
