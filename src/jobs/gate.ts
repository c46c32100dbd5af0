// Sits between the network and storage: holds back only the first 4 KiB to
// sniff them, refuses the stream at once when the type is not accepted (so a
// wrong file costs 4 KiB, not its whole size), and counts bytes for progress.
// Everything after the first 4 KiB passes straight through: memory stays flat.
import { Transform, type TransformCallback } from 'node:stream';
import { mimeMatches, sniffMime } from '../platform/net/index.js';
import { JobFailure } from './failures.js';

/** Bytes looked at to decide what a file is. */
export const SNIFF_BYTES = 4096;

export interface Sniffed {
  /** null only for an empty body */
  mimeType: string | null;
  ext: string | undefined;
}

export class MimeGate extends Transform {
  bytes = 0;
  mimeType: string | null = null;
  ext: string | undefined;
  /** Settles once the type is known (or the stream ended or failed before). */
  readonly sniffed: Promise<Sniffed>;
  private settle!: (value: Sniffed) => void;
  private head: Buffer[] | null = [];
  private headBytes = 0;

  constructor(
    private readonly accepted: readonly string[] | null,
    /** The error code a refused type fails with. */
    private readonly refusalCode = 'MIME_NOT_ACCEPTED',
  ) {
    super();
    this.sniffed = new Promise((resolve) => (this.settle = resolve));
    // Whoever waits for the type also learns when the stream dies first.
    const settleNow = () => this.settle({ mimeType: this.mimeType, ext: this.ext });
    this.once('error', settleNow);
    this.once('close', settleNow);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (!this.head) return done(null, chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) return done();
    this.release(done);
  }

  override _flush(done: TransformCallback): void {
    if (this.head) this.release(done);
    else done();
  }

  private release(done: TransformCallback): void {
    const head = Buffer.concat(this.head ?? []);
    this.head = null;
    sniffMime(head.subarray(0, SNIFF_BYTES)).then(
      (sniffed) => {
        this.mimeType = sniffed?.mime ?? (head.length ? 'application/octet-stream' : null);
        this.ext = sniffed?.ext;
        if (this.accepted && !(this.mimeType && mimeMatches(this.mimeType, this.accepted))) {
          return done(new JobFailure(this.refusalCode, `The media is ${this.mimeType ?? 'empty'}; accepted: ${this.accepted.join(', ')}`));
        }
        this.settle({ mimeType: this.mimeType, ext: this.ext });
        done(null, head);
      },
      (err: unknown) => done(err as Error),
    );
  }
}
