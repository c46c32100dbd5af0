// The contract every object store implements. Keys are relative paths such as
// `media/<account>/<item>/original`; see keys.ts for what is accepted.
import type { Readable } from 'node:stream';

export type StoreId = 'local' | 's3' | 'gs';

export interface PutOptions {
  contentType?: string;
  /** e.g. gzip: the stored bytes are encoded; contentType says what they decode to. */
  contentEncoding?: string;
  /** the put fails with ObjectTooLargeError and leaves nothing behind past this */
  maxBytes?: number;
}

export interface PutResult {
  size: number;
  etag: string;
  /** hex */
  sha256: string;
}

export interface ObjectHead {
  size: number;
  etag: string;
  contentType?: string;
  contentEncoding?: string;
  lastModified?: Date;
}

export interface ByteRange {
  start: number;
  /** inclusive */
  end?: number;
}

export interface GetResult {
  body: Readable;
  /** whole object */
  size: number;
  contentLength: number;
  etag: string;
  contentType?: string;
  range?: { start: number; end: number };
}

export interface SignedGetOptions {
  expiresInSeconds: number;
  downloadFileName?: string;
  contentType?: string;
}

export interface SignedPutOptions {
  expiresInSeconds: number;
  contentType: string;
  contentLength?: number;
}

export interface SignedUrl {
  url: string;
  expiresAt: Date;
}

export interface SignedPut extends SignedUrl {
  method: 'PUT';
  /** send exactly these with the PUT */
  headers: Record<string, string>;
}

export interface StorageDriver {
  readonly storeId: StoreId;
  /** the storage URL it was made from, e.g. s3://bucket/prefix */
  readonly location: string;
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  get(key: string, range?: ByteRange): Promise<GetResult>;
  head(key: string): Promise<ObjectHead | null>;
  /**
   * Puts the bytes and content type `fromKey` holds now under `toKey`
   * (replacing it), inside the store where it can. Later writes to `fromKey`
   * never reach `toKey`. ObjectNotFoundError when `fromKey` is missing.
   */
  copy(fromKey: string, toKey: string): Promise<void>;
  /** idempotent: a missing object is fine */
  delete(key: string): Promise<void>;
  signedGetUrl(key: string, options: SignedGetOptions): Promise<SignedUrl>;
  signedPutUrl(key: string, options: SignedPutOptions): Promise<SignedPut>;
  /** readiness probe: throws when the store is unreachable */
  check(): Promise<void>;
}
