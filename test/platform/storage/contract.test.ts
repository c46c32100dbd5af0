// One contract, three stores: local disk, S3 (real s3rver), GCS (in-process
// emulator speaking the JSON/XML APIs the SDK uses).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLocalObjectRoute,
  createStorageDriver,
  InvalidKeyError,
  InvalidRangeError,
  LocalStorageDriver,
  ObjectNotFoundError,
  ObjectTooLargeError,
  S3StorageDriver,
  type StorageDriver,
} from '../../../src/platform/storage/index.js';
import { startGcsEmulator } from '../../support/gcs-emulator.js';
import { startS3 } from '../../support/s3.js';
import { bytes, chunked, failingAfter, readAll, sha256 } from './helpers.js';

interface Harness {
  driver: StorageDriver;
  /** anything a failed put may have left behind (temp files, sessions, parts) */
  leftovers(): Promise<string[]>;
  /** a driver for the same store but a bucket that does not exist */
  missingBucket?: () => StorageDriver;
  /** s3rver accepts any SigV4 signature, so tampering cannot be tested there */
  verifiesSignatures: boolean;
  close(): Promise<void>;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

async function localHarness(): Promise<Harness> {
  const root = await mkdtemp(path.join(tmpdir(), 'storage-local-'));
  let route: ReturnType<typeof createLocalObjectRoute> | undefined;
  const server: Server = createServer((req, res) => {
    void route!(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const driver = createStorageDriver(pathToFileURL(root).href, { publicUrl, signingSecret: 'test-secret-0123456789' });
  if (!(driver instanceof LocalStorageDriver)) throw new Error('expected the local driver');
  route = createLocalObjectRoute(driver);
  return {
    driver,
    leftovers: () => listFiles(driver.tempDir),
    verifiesSignatures: true,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function s3Harness(): Promise<Harness> {
  const s3 = await startS3();
  const options = { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials };
  const deps = { publicUrl: 'http://unused', signingSecret: 'unused-secret-0123456789', s3: options };
  const driver = createStorageDriver(`s3://${s3.bucket}/pre/fix`, deps);
  if (!(driver instanceof S3StorageDriver)) throw new Error('expected the S3 driver');
  // s3rver 3.7 answers AbortMultipartUpload with 405, so its disk cannot show
  // whether parts were cleaned up; instead every multipart upload the driver
  // starts must end in a Complete or an Abort request (which real S3 honours).
  const open = new Set<string>();
  driver.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { UploadId?: string };
      if (context.commandName === 'AbortMultipartUploadCommand' || context.commandName === 'CompleteMultipartUploadCommand') {
        open.delete(input.UploadId ?? '');
      }
      const result = await next(args);
      const output = result.output as { UploadId?: string };
      if (context.commandName === 'CreateMultipartUploadCommand' && output.UploadId) open.add(output.UploadId);
      return result;
    },
    { step: 'initialize', name: 'trackMultipartUploads' },
  );
  return {
    driver,
    leftovers: async () => [...open].map((id) => `multipart upload ${id} neither completed nor aborted`),
    missingBucket: () => createStorageDriver('s3://no-such-bucket/x', deps),
    verifiesSignatures: false,
    close: () => s3.close(),
  };
}

async function gcsHarness(): Promise<Harness> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const emulator = await startGcsEmulator({ buckets: ['media-test'], publicKey });
  const gcs = {
    apiEndpoint: emulator.url,
    projectId: 'test-project',
    credentials: { client_email: 'tester@test-project.iam.gserviceaccount.com', private_key: privateKey },
  };
  const deps = { publicUrl: 'http://unused', signingSecret: 'unused-secret-0123456789', gcs };
  return {
    driver: createStorageDriver('gs://media-test/pre/fix', deps),
    leftovers: async () => {
      const { openSessions } = emulator.stats();
      return openSessions ? [`${openSessions} open upload session(s)`] : [];
    },
    missingBucket: () => createStorageDriver('gs://no-such-bucket/x', deps),
    verifiesSignatures: true,
    close: () => emulator.close(),
  };
}

const MiB = 1024 * 1024;

describe.each([
  ['local', localHarness],
  ['s3', s3Harness],
  ['gs', gcsHarness],
] as const)('StorageDriver contract: %s', (storeId, makeHarness) => {
  let h: Harness;
  let driver: StorageDriver;
  const key = (name: string) => `media/${randomUUID()}/${name}`;

  beforeAll(async () => {
    h = await makeHarness();
    driver = h.driver;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reports its store id and passes the readiness check', async () => {
    expect(driver.storeId).toBe(storeId);
    await expect(driver.check()).resolves.toBeUndefined();
    if (h.missingBucket) await expect(h.missingBucket().check()).rejects.toThrow();
  });

  it('puts, heads and gets whole objects and byte ranges', async () => {
    const data = bytes(300_001, 7);
    const k = key('original');
    const put = await driver.put(k, chunked(data), { contentType: 'image/png' });
    expect(put.size).toBe(data.length);
    expect(put.sha256).toBe(sha256(data));
    expect(put.etag).not.toBe('');

    const head = await driver.head(k);
    expect(head).toMatchObject({ size: data.length, etag: put.etag, contentType: 'image/png' });

    const whole = await driver.get(k);
    expect(whole).toMatchObject({ size: data.length, contentLength: data.length, etag: put.etag, contentType: 'image/png' });
    expect(whole.range).toBeUndefined();
    expect((await readAll(whole.body)).equals(data)).toBe(true);

    const part = await driver.get(k, { start: 1000, end: 70_999 });
    expect(part).toMatchObject({ size: data.length, contentLength: 70_000, range: { start: 1000, end: 70_999 } });
    expect((await readAll(part.body)).equals(data.subarray(1000, 71_000))).toBe(true);

    const tail = await driver.get(k, { start: data.length - 10, end: data.length + 100 });
    expect(tail.range).toEqual({ start: data.length - 10, end: data.length - 1 });
    expect((await readAll(tail.body)).equals(data.subarray(-10))).toBe(true);

    await expect(driver.get(k, { start: data.length })).rejects.toBeInstanceOf(InvalidRangeError);
    await expect(driver.get(k, { start: 10, end: 5 })).rejects.toBeInstanceOf(InvalidRangeError);
  });

  it('streams an object larger than one multipart part', async () => {
    const data = bytes(17 * MiB + 3, 13);
    const k = key('large');
    const put = await driver.put(k, chunked(data, 256 * 1024), { maxBytes: 32 * MiB });
    expect(put).toMatchObject({ size: data.length, sha256: sha256(data) });
    expect(await driver.head(k)).toMatchObject({ size: data.length, etag: put.etag });
    const got = await driver.get(k);
    expect(sha256(await readAll(got.body))).toBe(put.sha256);
  });

  it('stores empty objects', async () => {
    const k = key('empty');
    const put = await driver.put(k, chunked(Buffer.alloc(0)));
    expect(put).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)) });
    expect((await readAll((await driver.get(k)).body)).length).toBe(0);
  });

  it('deletes idempotently and reports missing objects', async () => {
    const k = key('doomed');
    await driver.put(k, chunked(bytes(1000)));
    await driver.delete(k);
    expect(await driver.head(k)).toBeNull();
    await expect(driver.get(k)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(driver.get(k)).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    await expect(driver.delete(k)).resolves.toBeUndefined();
    await expect(driver.delete(key('never-existed'))).resolves.toBeUndefined();
  });

  it('copies an object to another key; later writes to the source do not reach the copy', async () => {
    const data = bytes(300_001, 17);
    const from = key('staged');
    const to = key('final');
    await driver.put(from, chunked(data), { contentType: 'image/png' });
    await driver.copy(from, to);
    expect(await driver.head(to)).toMatchObject({ size: data.length, contentType: 'image/png' });
    expect((await readAll((await driver.get(to)).body)).equals(data)).toBe(true);

    const later = Buffer.from('<html>not the picture</html>');
    await driver.put(from, chunked(later), { contentType: 'text/html' });
    expect(await driver.head(to)).toMatchObject({ size: data.length, contentType: 'image/png' });
    expect((await readAll((await driver.get(to)).body)).equals(data)).toBe(true);
    expect((await readAll((await driver.get(from)).body)).equals(later)).toBe(true);

    // A copy replaces what the destination held.
    await driver.copy(from, to);
    expect(await driver.head(to)).toMatchObject({ size: later.length, contentType: 'text/html' });

    const nowhere = key('nowhere');
    await expect(driver.copy(key('never-existed'), nowhere)).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await driver.head(nowhere)).toBeNull();
    expect(await h.leftovers()).toEqual([]);
  });

  it('rejects an object over maxBytes and leaves nothing behind', async () => {
    // Over one 8 MiB S3 part, so a multipart upload has begun when the limit hits.
    const k = key('too-large');
    const err = await driver.put(k, chunked(bytes(12 * MiB, 3), 256 * 1024), { maxBytes: 9 * MiB }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectTooLargeError);
    expect(err).toMatchObject({ code: 'OBJECT_TOO_LARGE' });
    expect(await driver.head(k)).toBeNull();
    expect(await h.leftovers()).toEqual([]);
  });

  it('accepts an object of exactly maxBytes', async () => {
    const data = bytes(4096, 5);
    await expect(driver.put(key('exact'), chunked(data, 1000), { maxBytes: 4096 })).resolves.toMatchObject({ size: 4096 });
  });

  it('fails a put whose source stream errors and leaves nothing behind', async () => {
    const k = key('broken');
    await expect(driver.put(k, failingAfter(bytes(100_000), new Error('client went away')))).rejects.toThrow(/client went away/);
    expect(await driver.head(k)).toBeNull();
    expect(await h.leftovers()).toEqual([]);
  });

  it('hands out a signed GET URL that plain fetch can use, with the download name', async () => {
    const data = bytes(5000, 9);
    const k = key('photo');
    await driver.put(k, chunked(data), { contentType: 'image/jpeg' });
    const signed = await driver.signedGetUrl(k, { expiresInSeconds: 300, downloadFileName: 'résumé "1".jpg' });
    expect(signed.expiresAt.getTime()).toBeGreaterThan(Date.now() + 250_000);
    expect(signed.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 301_000);
    const res = await fetch(signed.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const disposition = res.headers.get('content-disposition') ?? '';
    expect(disposition).toMatch(/^attachment;/);
    expect(disposition).toContain("filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.jpg");

    // The link must not open a neighbouring object.
    const other = k.replace(/photo$/, 'other');
    await driver.put(other, chunked(bytes(100, 2)));
    const tampered = new URL(signed.url);
    tampered.pathname = tampered.pathname.replace(/photo$/, 'other');
    expect(tampered.href).not.toBe(signed.url);
    if (h.verifiesSignatures) expect((await fetch(tampered)).status).toBe(403);
  });

  it('hands out a signed PUT URL that plain fetch can upload to', async () => {
    const data = bytes(20_000, 11);
    const k = key('upload');
    const signed = await driver.signedPutUrl(k, { expiresInSeconds: 300, contentType: 'video/mp4', contentLength: data.length });
    expect(signed.method).toBe('PUT');
    const res = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: Uint8Array.from(data) });
    expect(res.status).toBe(200);
    expect(await driver.head(k)).toMatchObject({ size: data.length, contentType: 'video/mp4' });
    expect((await readAll((await driver.get(k)).body)).equals(data)).toBe(true);

    if (!h.verifiesSignatures) {
      // Real S3 enforces what is signed: make sure type and length are.
      const signedHeaders = new URL(signed.url).searchParams.get('X-Amz-SignedHeaders')?.split(';');
      expect(signedHeaders).toEqual(expect.arrayContaining(['content-type', 'content-length', 'host']));
      return;
    }
    const wrongType = await fetch(signed.url, { method: 'PUT', headers: { ...signed.headers, 'Content-Type': 'text/html' }, body: Uint8Array.from(data) });
    expect(wrongType.status).toBeGreaterThanOrEqual(400);
    expect(wrongType.status).toBeLessThan(500);
    // fetch computes Content-Length from the body itself.
    const { 'Content-Length': _length, ...withoutLength } = signed.headers;
    const wrongLength = await fetch(signed.url, { method: 'PUT', headers: withoutLength, body: Uint8Array.from(data.subarray(1)) });
    expect(wrongLength.status).toBeGreaterThanOrEqual(400);
    expect(wrongLength.status).toBeLessThan(500);
    expect(await driver.head(k)).toMatchObject({ size: data.length });
  });

  it('rejects invalid keys everywhere', async () => {
    const bad = ['', '../etc/passwd', 'a/../../b', '/abs/path', 'a\\b', 'nul\0byte', 'a//b', 'dir/', './a', 'tab\there'];
    for (const k of bad) {
      await expect(driver.put(k, chunked(bytes(10)))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(driver.get(k)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(driver.head(k)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(driver.delete(k)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(driver.copy(k, 'media/ok/key')).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(driver.copy('media/ok/key', k)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(driver.signedGetUrl(k, { expiresInSeconds: 60 })).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(driver.signedPutUrl(k, { expiresInSeconds: 60, contentType: 'a/b' })).rejects.toMatchObject({ code: 'INVALID_KEY' });
    }
  });
});
