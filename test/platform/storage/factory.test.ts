// Driver selection by storage URL and the shared hashing stream.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  createStorageDriver,
  GcsStorageDriver,
  HashingStream,
  LocalStorageDriver,
  ObjectTooLargeError,
  S3StorageDriver,
} from '../../../src/platform/storage/index.js';
import { bytes, chunked } from './helpers.js';

const deps = { publicUrl: 'http://127.0.0.1:4000', signingSecret: 'factory-secret-0123456789' };

describe('createStorageDriver', () => {
  it('chooses the driver by scheme and keeps the location', () => {
    const local = createStorageDriver('file:///var/lib/media/objects', deps);
    expect(local).toBeInstanceOf(LocalStorageDriver);
    expect(local.location).toBe('file:///var/lib/media/objects');
    const s3 = createStorageDriver('s3://bucket/some/prefix', { ...deps, s3: { region: 'eu-west-1' } });
    expect(s3).toBeInstanceOf(S3StorageDriver);
    expect(s3).toMatchObject({ storeId: 's3', bucket: 'bucket', prefix: 'some/prefix/' });
    const gs = createStorageDriver('gs://bucket', { ...deps, gcs: { apiEndpoint: 'http://127.0.0.1:1' } });
    expect(gs).toBeInstanceOf(GcsStorageDriver);
    expect(gs).toMatchObject({ storeId: 'gs', bucketName: 'bucket', prefix: '' });
  });

  it('rejects unknown schemes and relative file URLs clearly', () => {
    expect(() => createStorageDriver('ftp://host/x', deps)).toThrow(/Unsupported storage URL "ftp:\/\/host\/x"/);
    expect(() => createStorageDriver('/plain/path', deps)).toThrow(/Unsupported storage URL/);
    expect(() => createStorageDriver('file://relative/path', deps)).toThrow(/file:\/\/\/absolute\/path/);
  });
});

describe('HashingStream', () => {
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

  it('counts bytes and hashes while streaming', async () => {
    const data = bytes(100_000, 3);
    const hasher = new HashingStream({ md5: true });
    await pipeline(chunked(data, 999), hasher, sink());
    expect(hasher.byteCount).toBe(data.length);
    expect(hasher.sha256Hex).toBe(createHash('sha256').update(data).digest('hex'));
    expect(hasher.md5Hex).toBe(createHash('md5').update(data).digest('hex'));
  });

  it('fails with ObjectTooLargeError one byte past maxBytes', async () => {
    await expect(pipeline(chunked(bytes(1001), 100), new HashingStream({ maxBytes: 1000 }), sink())).rejects.toBeInstanceOf(
      ObjectTooLargeError,
    );
    await expect(pipeline(chunked(bytes(1000), 100), new HashingStream({ maxBytes: 1000 }), sink())).resolves.toBeUndefined();
  });
});
