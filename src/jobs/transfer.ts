// The transfer every downloading job makes: safe fetch → MIME gate on the
// sniffed first bytes → (optional encoding) → streamed storage put, with a
// progress tick at most every 250 ms that doubles as the cancel check. Memory
// stays flat whatever the size. When it throws, nothing is left in storage.
import { pipeline, type Readable, type Transform } from 'node:stream';
import { parseContentLengthOrRange, safeFetch, type EgressPolicy, type SafeResponse } from '../platform/net/index.js';
import { JobAbortedError } from '../platform/queue/worker.js';
import type { PutResult, StorageDriver } from '../platform/storage/driver.js';
import { CancelledError } from './failures.js';
import { MimeGate, type Sniffed } from './gate.js';

/** Progress is written and announced at most this often; it doubles as the cancel check. */
export const PROGRESS_INTERVAL_MS = 250;

export interface TransferRequest {
  url: string;
  policy: EgressPolicy;
  headers?: Record<string, string>;
  /** The job's signal: expiry or shutdown stop the transfer. */
  signal: AbortSignal;
  /** Accepted MIME patterns, or null for any. */
  accept: readonly string[] | null;
  /** Error code of a refused type (default MIME_NOT_ACCEPTED). */
  refusalCode?: string;
  driver: StorageDriver;
  /** The object key, or how to make it once the type is known (e.g. to add an extension). */
  key: string | ((sniffed: Sniffed) => string);
  maxBytes: number;
  /** Applied after the gate and before storage (e.g. gzip); sizes and hashes are of what is stored. */
  encode?: () => Transform;
  /** Stored Content-Type; defaults to the sniffed type. */
  contentType?: (sniffed: Sniffed) => string;
  /** Stored Content-Encoding, when `encode` changes the bytes (e.g. gzip). */
  contentEncoding?: string;
  /** A fallback size when the response does not say. */
  expectedSize?: number | null;
  /**
   * Called at most every PROGRESS_INTERVAL_MS, also while nothing arrives (a
   * stalled download must still notice a cancel). False means cancelled.
   */
  progress(received: number, total: number | null, changed: boolean): Promise<boolean>;
  /** Told about the response before its body flows (headers, final URL). */
  onResponse?(response: SafeResponse): void;
  /** Where progress write failures are reported. */
  warn?(err: unknown): void;
}

export interface TransferResult {
  key: string;
  stored: PutResult;
  /** Bytes downloaded (before any encoding). */
  received: number;
  mimeType: string;
  ext: string | undefined;
  contentType: string;
}

export async function transfer(request: TransferRequest): Promise<TransferResult> {
  const controller = new AbortController();
  const onJobAbort = () => controller.abort(request.signal.reason);
  if (request.signal.aborted) throw request.signal.reason;
  request.signal.addEventListener('abort', onJobAbort, { once: true });
  let ticker: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let key: string | undefined;
  let stored: PutResult | undefined;
  try {
    const response = await safeFetch(request.url, { policy: request.policy, headers: request.headers, signal: controller.signal });
    response.assertOk();
    request.onResponse?.(response);
    const total = parseContentLengthOrRange(response.headers, { partial: false }) ?? request.expectedSize ?? null;
    const gate = new MimeGate(request.accept, request.refusalCode);
    let reported = -1;
    const tick = async () => {
      const changed = gate.bytes !== reported;
      reported = gate.bytes;
      if (!(await request.progress(reported, total, changed))) controller.abort(new CancelledError());
    };
    ticker = setInterval(() => {
      ticking = ticking.then(tick).catch((err: unknown) => request.warn?.(err));
    }, PROGRESS_INTERVAL_MS);
    const encoder = request.encode?.();
    const body: Readable = encoder ? pipeline(response.body, gate, encoder, () => {}) : pipeline(response.body, gate, () => {});
    // The type decides the key and the stored Content-Type; the gate holds the first bytes until it knows.
    const sniffed = await gate.sniffed;
    if (controller.signal.aborted) throw controller.signal.reason;
    if (gate.errored) throw gate.errored;
    key = typeof request.key === 'function' ? request.key(sniffed) : request.key;
    const contentType = request.contentType?.(sniffed) ?? sniffed.mimeType ?? 'application/octet-stream';
    stored = await request.driver.put(key, body, { maxBytes: request.maxBytes, contentType, contentEncoding: request.contentEncoding });
    clearInterval(ticker);
    await ticking;
    if (controller.signal.aborted) throw controller.signal.reason;
    return { key, stored, received: gate.bytes, mimeType: sniffed.mimeType ?? 'application/octet-stream', ext: sniffed.ext, contentType };
  } catch (err) {
    clearInterval(ticker);
    await ticking;
    // A put that completed just before the cancel still left an object; a failed put leaves none.
    // A job taken over by another worker writes the same key: that object is the other attempt's.
    const takenOver = request.signal.reason instanceof JobAbortedError && request.signal.reason.reason === 'lost';
    if (stored && key && !takenOver) await request.driver.delete(key).catch((e: unknown) => request.warn?.(e));
    throw controller.signal.aborted ? controller.signal.reason : err;
  } finally {
    request.signal.removeEventListener('abort', onJobAbort);
  }
}
