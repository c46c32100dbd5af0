// Google Cloud Storage through @google-cloud/storage v7 (JSON API for object
// operations, V4 signed URLs for links handed to clients).
import { Storage, type File } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  ByteRange,
  GetResult,
  ObjectHead,
  PutOptions,
  PutResult,
  SignedGetOptions,
  SignedPut,
  SignedPutOptions,
  SignedUrl,
  StorageDriver,
} from './driver.js';
import { ObjectNotFoundError } from './errors.js';
import { HashingStream } from './hashing.js';
import {
  SEVEN_DAYS_SECONDS,
  assertExpiry,
  assertRangeShape,
  assertValidKey,
  attachmentDisposition,
  normalisePrefix,
  resolveRange,
} from './keys.js';

export interface GcsOptions {
  /** e.g. http://127.0.0.1:9023 for an emulator (STORAGE_EMULATOR_HOST) */
  apiEndpoint?: string;
  projectId?: string;
  /** service-account key; needed for signed URLs unless running on GCP */
  credentials?: { client_email: string; private_key: string };
}

interface GcsMetadata {
  size?: string | number;
  etag?: string;
  contentType?: string;
  contentEncoding?: string;
  updated?: string;
  generation?: string | number;
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function parseGsUrl(location: string): { bucket: string; prefix: string } {
  const url = new URL(location);
  if (url.protocol !== 'gs:' || !url.hostname) throw new Error(`Invalid GCS storage URL ${location}: expected gs://bucket/prefix`);
  return { bucket: url.hostname, prefix: normalisePrefix(decodeURIComponent(url.pathname)) };
}

/** V4 signing caps links at 7 days; longer requests are clamped (expiresAt tells). */
function expiryMs(expiresInSeconds: number): number {
  assertExpiry(expiresInSeconds);
  return Date.now() + Math.min(Math.ceil(expiresInSeconds), SEVEN_DAYS_SECONDS) * 1000;
}

export class GcsStorageDriver implements StorageDriver {
  readonly storeId = 'gs' as const;
  readonly bucketName: string;
  readonly prefix: string;
  readonly storage: Storage;

  constructor(
    readonly location: string,
    options: GcsOptions = {},
  ) {
    ({ bucket: this.bucketName, prefix: this.prefix } = parseGsUrl(location));
    // With apiEndpoint set, v7 sends JSON/upload requests there and also
    // builds signed URLs on it (signer.js falls back to storage.apiEndpoint).
    this.storage = new Storage({
      apiEndpoint: options.apiEndpoint,
      projectId: options.projectId,
      credentials: options.credentials,
    });
  }

  private file(key: string, generation?: string | number): File {
    assertValidKey(key);
    const bucket = this.storage.bucket(this.bucketName);
    return generation === undefined ? bucket.file(this.prefix + key) : bucket.file(this.prefix + key, { generation });
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const file = this.file(key);
    const hasher = new HashingStream({ maxBytes: options.maxBytes });
    // One streaming request per object (no chunkSize): nothing is buffered,
    // and GCS never creates an object from an unfinished resumable session.
    const metadata = { ...(options.contentType ? { contentType: options.contentType } : {}), ...(options.contentEncoding ? { contentEncoding: options.contentEncoding } : {}) };
    // Opening the session ourselves means its URI is known whenever the
    // upload fails, so it can always be cancelled.
    let sessionUri: string;
    try {
      [sessionUri] = await file.createResumableUpload({ metadata });
    } catch (err) {
      body.destroy();
      throw err;
    }
    const upload = file.createWriteStream({
      resumable: true,
      uri: sessionUri,
      contentType: options.contentType,
      metadata,
      // md5 works on every object GCS stores this way and on the test emulator.
      validation: 'md5',
    });
    try {
      await pipeline(body, hasher, upload);
    } catch (err) {
      await cancelSession(sessionUri);
      throw hasher.errored ?? err;
    }
    return { size: hasher.byteCount, etag: (file.metadata as GcsMetadata).etag ?? '', sha256: hasher.sha256Hex };
  }

  private async metadata(key: string): Promise<GcsMetadata | null> {
    try {
      const [metadata] = await this.file(key).getMetadata();
      return metadata as GcsMetadata;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    const metadata = await this.metadata(key);
    if (!metadata) return null;
    return {
      size: Number(metadata.size ?? 0),
      etag: metadata.etag ?? '',
      contentType: metadata.contentType,
      contentEncoding: metadata.contentEncoding,
      lastModified: metadata.updated ? new Date(metadata.updated) : undefined,
    };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    if (range) assertRangeShape(range);
    const metadata = await this.metadata(key);
    if (!metadata) throw new ObjectNotFoundError(key);
    const size = Number(metadata.size ?? 0);
    const resolved = range ? resolveRange(range, size) : undefined;
    // Pinning the generation read above keeps body and metadata consistent
    // even if the object is replaced in between.
    const file = this.file(key, metadata.generation);
    const body = resolved ? file.createReadStream({ start: resolved.start, end: resolved.end }) : file.createReadStream();
    return {
      body,
      size,
      contentLength: resolved ? resolved.end - resolved.start + 1 : size,
      etag: metadata.etag ?? '',
      contentType: metadata.contentType,
      range: resolved,
    };
  }

  /** The rewrite API copies inside GCS, content type included; large objects take several calls, which the SDK makes. */
  async copy(fromKey: string, toKey: string): Promise<void> {
    const destination = this.file(toKey);
    try {
      await this.file(fromKey).copy(destination);
    } catch (err) {
      if (statusOf(err) === 404) throw new ObjectNotFoundError(fromKey);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.file(key).delete({ ignoreNotFound: true });
  }

  async signedGetUrl(key: string, options: SignedGetOptions): Promise<SignedUrl> {
    const expires = expiryMs(options.expiresInSeconds);
    const [url] = await this.file(key).getSignedUrl({
      version: 'v4',
      action: 'read',
      expires,
      responseDisposition:
        options.downloadFileName === undefined ? undefined : attachmentDisposition(options.downloadFileName),
      responseType: options.contentType,
    });
    return { url, expiresAt: new Date(Math.floor(expires / 1000) * 1000) };
  }

  async signedPutUrl(key: string, options: SignedPutOptions): Promise<SignedPut> {
    const expires = expiryMs(options.expiresInSeconds);
    // GCS enforces a signed x-goog-content-length-range; browsers cannot set
    // Content-Length themselves but may send this header.
    const extensionHeaders =
      options.contentLength === undefined
        ? undefined
        : { 'x-goog-content-length-range': `${options.contentLength},${options.contentLength}` };
    const [url] = await this.file(key).getSignedUrl({
      version: 'v4',
      action: 'write',
      expires,
      contentType: options.contentType,
      extensionHeaders,
    });
    const headers: Record<string, string> = { 'Content-Type': options.contentType, ...extensionHeaders };
    return { url, expiresAt: new Date(Math.floor(expires / 1000) * 1000), method: 'PUT', headers };
  }

  async check(): Promise<void> {
    await this.storage.bucket(this.bucketName).getMetadata();
  }
}

// A cancelled session can never be completed into an object, even by a
// request still in flight; the session URI is its own credential.
async function cancelSession(uri: string): Promise<void> {
  await fetch(uri, { method: 'DELETE', signal: AbortSignal.timeout(5000) }).catch(() => undefined);
}
