// S3 and S3-compatible stores (MinIO, R2, s3rver) through the AWS SDK v3.
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
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
import { InvalidRangeError, ObjectNotFoundError } from './errors.js';
import type { MultipartLedger } from './multipart-ledger.js';
import { HashingStream } from './hashing.js';
import { SEVEN_DAYS_SECONDS, assertExpiry, assertRangeShape, assertValidKey, attachmentDisposition, normalisePrefix } from './keys.js';

export interface S3Options {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** otherwise the SDK's default provider chain */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where open multipart uploads are written down, so another process can abort a dead one's. */
  ledger?: MultipartLedger;
}

// 8 MiB parts, at most 3 in flight: a put holds ~24 MiB whatever the object size.
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 3;
/** CopyObject's limit; larger objects are copied by streaming them through put. */
const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;

function statusOf(err: unknown): number | undefined {
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode;
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

export function parseS3Url(location: string): { bucket: string; prefix: string } {
  const url = new URL(location);
  if (url.protocol !== 's3:' || !url.hostname) throw new Error(`Invalid S3 storage URL ${location}: expected s3://bucket/prefix`);
  return { bucket: url.hostname, prefix: normalisePrefix(decodeURIComponent(url.pathname)) };
}

/**
 * Presigned links are capped at 7 days by SigV4; longer requests are clamped
 * to the cap and the returned expiresAt says so.
 */
function clampExpiry(expiresInSeconds: number): number {
  assertExpiry(expiresInSeconds);
  return Math.min(Math.ceil(expiresInSeconds), SEVEN_DAYS_SECONDS);
}

export class S3StorageDriver implements StorageDriver {
  readonly storeId = 's3' as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private ledger: MultipartLedger | undefined;

  constructor(
    readonly location: string,
    options: S3Options = {},
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(location));
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Many S3-compatible servers reject the SDK's newer default CRC32 checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    if (options.ledger) this.recordMultipartUploads(options.ledger);
  }

  // Every multipart upload on this client, lib-storage's included, is written
  // down before its first part goes out and crossed out once completed or aborted.
  private recordMultipartUploads(ledger: MultipartLedger): void {
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = args.input as { Key?: string; UploadId?: string };
        if (context.commandName === 'CreateMultipartUploadCommand') {
          const uploadId = (result.output as { UploadId?: string }).UploadId;
          if (uploadId) {
            await ledger.opened(this.location, input.Key ?? '', uploadId).catch(async (err: unknown) => {
              // Unrecorded parts could outlive a crash: do not send any.
              await this.abortMultipartUpload(input.Key ?? '', uploadId).catch(() => {});
              throw err;
            });
          }
        } else if (context.commandName === 'CompleteMultipartUploadCommand' || context.commandName === 'AbortMultipartUploadCommand') {
          await ledger.closed(this.location, input.UploadId ?? '').catch(() => {});
        }
        return result;
      },
      { step: 'initialize', name: 'multipartLedger' },
    );
    this.ledger = ledger;
  }

  /** Aborts an upload by its full object key; one that is already gone counts as aborted. */
  async abortMultipartUpload(objectKey: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId }));
    } catch (err) {
      if (statusOf(err) === 404) {
        await this.ledger?.closed(this.location, uploadId).catch(() => {});
        return;
      }
      throw err;
    }
  }

  private objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const Key = this.objectKey(key);
    const hasher = new HashingStream({ maxBytes: options.maxBytes });
    // Errors of the source travel into the hasher, which the Upload reads, so
    // the Upload fails; abortLeftovers below then removes any parts.
    body.once('error', (err) => hasher.destroy(err));
    hasher.once('error', () => body.destroy());
    body.pipe(hasher);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: hasher, ContentType: options.contentType, ContentEncoding: options.contentEncoding },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      // lib-storage's own abort would replace the original error with the
      // abort's if that fails; this driver aborts itself instead.
      leavePartsOnError: true,
    });
    try {
      const result = await upload.done();
      return { size: hasher.byteCount, etag: unquote(result.ETag), sha256: hasher.sha256Hex };
    } catch (err) {
      await this.abortLeftovers(Key, upload.uploadId);
      // The hasher's own error (e.g. ObjectTooLargeError) is the real cause.
      throw hasher.errored ?? err;
    }
  }

  // Parts of an unfinished multipart upload cost money and are invisible to
  // head(), so a failed put always aborts its upload. A failing abort must not
  // hide why the put failed; buckets should also carry an
  // AbortIncompleteMultipartUpload lifecycle rule as a backstop.
  private async abortLeftovers(Key: string, uploadId: string | undefined): Promise<void> {
    if (!uploadId) return;
    await this.abortMultipartUpload(Key, uploadId).catch(async () => {
      // Left in the ledger without an owner: the sweeper tries again.
      await this.ledger?.abandoned(this.location, uploadId).catch(() => {});
    });
  }

  async head(key: string): Promise<ObjectHead | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return {
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag),
        contentType: out.ContentType,
        contentEncoding: out.ContentEncoding,
        lastModified: out.LastModified,
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    const Key = this.objectKey(key);
    if (range) assertRangeShape(range);
    const Range = range ? `bytes=${range.start}-${range.end ?? ''}` : undefined;
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }));
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) throw new ObjectNotFoundError(key);
      if (status === 416) throw new InvalidRangeError(`Range ${Range} is not satisfiable for ${key}`);
      throw err;
    }
    if (!(out.Body instanceof Readable)) throw new Error('S3 returned a non-stream body');
    const contentLength = out.ContentLength ?? 0;
    const base = { body: out.Body, contentLength, etag: unquote(out.ETag), contentType: out.ContentType };
    const match = out.ContentRange?.match(/^bytes (\d+)-(\d+)\/(\d+)$/);
    if (range && match) {
      return { ...base, size: Number(match[3]), range: { start: Number(match[1]), end: Number(match[2]) } };
    }
    // Some servers answer a range covering the whole object with a plain 200.
    if (range) return { ...base, size: contentLength, range: { start: 0, end: contentLength - 1 } };
    return { ...base, size: contentLength };
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const Key = this.objectKey(toKey);
    const source = this.objectKey(fromKey);
    const head = await this.head(fromKey);
    if (!head) throw new ObjectNotFoundError(fromKey);
    if (head.size > MAX_COPY_OBJECT_BYTES) {
      const got = await this.get(fromKey);
      await this.put(toKey, got.body, { contentType: got.contentType });
      return;
    }
    // Segments encoded one by one: S3 wants the source URL-encoded, and
    // servers decode it with decodeURI, which leaves an encoded "/" alone.
    const CopySource = `${this.bucket}/${source.split('/').map(encodeURIComponent).join('/')}`;
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource, MetadataDirective: 'COPY' }));
    } catch (err) {
      if (statusOf(err) === 404) throw new ObjectNotFoundError(fromKey);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 DeleteObject already succeeds for missing keys.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async signedGetUrl(key: string, options: SignedGetOptions): Promise<SignedUrl> {
    const expiresIn = clampExpiry(options.expiresInSeconds);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ResponseContentDisposition:
        options.downloadFileName === undefined ? undefined : attachmentDisposition(options.downloadFileName),
      ResponseContentType: options.contentType,
    });
    const signedAt = Date.now();
    const url = await getSignedUrl(this.client, command, { expiresIn });
    return { url, expiresAt: new Date(signedAt + expiresIn * 1000) };
  }

  async signedPutUrl(key: string, options: SignedPutOptions): Promise<SignedPut> {
    const expiresIn = clampExpiry(options.expiresInSeconds);
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ContentType: options.contentType,
      ContentLength: options.contentLength,
    });
    const signedAt = Date.now();
    // Hoisting keeps content-type/length as signed headers rather than query
    // parameters, so S3 rejects an upload that does not match them.
    const url = await getSignedUrl(this.client, command, {
      expiresIn,
      signableHeaders: new Set(['content-type', ...(options.contentLength === undefined ? [] : ['content-length'])]),
    });
    const headers: Record<string, string> = { 'Content-Type': options.contentType };
    if (options.contentLength !== undefined) headers['Content-Length'] = String(options.contentLength);
    return { url, expiresAt: new Date(signedAt + expiresIn * 1000), method: 'PUT', headers };
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
