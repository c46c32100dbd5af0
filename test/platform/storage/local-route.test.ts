// The gateway's own signed-link route for the local driver, over real HTTP.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/platform/errors.js';
import { createLocalObjectRoute, LocalStorageDriver, type PutResult } from '../../../src/platform/storage/index.js';
import { bytes, chunked, sha256 } from './helpers.js';

let root: string;
let server: Server;
let driver: LocalStorageDriver;
let clock = Date.now();
const puts: { key: string; result: PutResult }[] = [];
const data = bytes(10_000, 42);
const KEY = 'media/acc-1/item-1/original';
/** Keys whose owner refuses further PUTs (beforePut). */
const closed = new Set<string>();

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'local-route-'));
  server = createServer((req, res) => {
    void route(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end('fell through');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  driver = new LocalStorageDriver(pathToFileURL(root).href, {
    publicUrl,
    signingSecret: 'route-test-secret-0123456789',
    now: () => clock,
  });
  const route = createLocalObjectRoute(driver, {
    beforePut: async (key) => {
      if (closed.has(key)) throw new ConflictError(`${key} is no longer accepting uploads`);
    },
    onPut: async (key, result) => {
      puts.push({ key, result });
    },
  });
  await driver.put(KEY, chunked(data), { contentType: 'image/png' });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  clock = Date.now();
});

const link = async (filename?: string) =>
  (await driver.signedGetUrl(KEY, { expiresInSeconds: 600, downloadFileName: filename })).url;

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).not.toMatch(/\n\s+at /);
}

describe('local object route: GET/HEAD', () => {
  it('streams the object for a valid link', async () => {
    const url = await link('holiday photo.png');
    expect(url).toMatch(/\/objects\/media\/acc-1\/item-1\/original\?method=GET&expires=\d+&filename=.+&sig=[0-9a-f]{64}$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-length')).toBe(String(data.length));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('cache-control')).toBe('private');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="holiday photo.png"; filename*=UTF-8''holiday%20photo.png`,
    );
  });

  it('answers HEAD with headers only', async () => {
    const res = await fetch(await link(), { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(data.length));
    expect(res.headers.get('content-disposition')).toBeNull();
  });

  it('serves byte ranges with 206 and Content-Range', async () => {
    const url = await link();
    const res = await fetch(url, { headers: { Range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 100-199/${data.length}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);

    const suffix = await fetch(url, { headers: { Range: 'bytes=-5' } });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(data.subarray(-5))).toBe(true);

    const unsatisfiable = await fetch(url, { headers: { Range: `bytes=${data.length}-` } });
    expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${data.length}`);
    await expectError(unsatisfiable, 416, 'RANGE_NOT_SATISFIABLE');
  });

  it('answers If-None-Match with 304', async () => {
    const url = await link();
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!;
    const res = await fetch(url, { headers: { 'If-None-Match': etag } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe('');
    expect((await fetch(url, { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
  });

  it('rejects a tampered signature', async () => {
    const url = new URL(await link());
    const sig = url.searchParams.get('sig')!;
    url.searchParams.set('sig', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    await expectError(await fetch(url), 403, 'SIGNATURE_INVALID');
  });

  it('rejects a link whose key, filename or expiry was changed', async () => {
    const url = new URL(await link('a.png'));
    const otherKey = new URL(url);
    otherKey.pathname = otherKey.pathname.replace('item-1', 'item-2');
    await expectError(await fetch(otherKey), 403, 'SIGNATURE_INVALID');
    const otherName = new URL(url);
    otherName.searchParams.set('filename', 'evil.html');
    await expectError(await fetch(otherName), 403, 'SIGNATURE_INVALID');
    const longer = new URL(url);
    longer.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    await expectError(await fetch(longer), 403, 'SIGNATURE_INVALID');
    const extra = new URL(url);
    extra.searchParams.set('type', 'text/html');
    await expectError(await fetch(extra), 403, 'SIGNATURE_INVALID');
  });

  it('rejects an expired link', async () => {
    const url = (await driver.signedGetUrl(KEY, { expiresInSeconds: 60 })).url;
    clock += 61_000;
    await expectError(await fetch(url), 403, 'SIGNATURE_EXPIRED');
  });

  it('rejects unsigned requests and PUT links used for GET', async () => {
    await expectError(await fetch(new URL(`/objects/${KEY}`, await link())), 403, 'SIGNATURE_INVALID');
    const putLink = await driver.signedPutUrl(KEY, { expiresInSeconds: 60, contentType: 'image/png' });
    await expectError(await fetch(putLink.url), 403, 'SIGNATURE_INVALID');
  });

  it('answers 404 for a validly signed missing object and 400 for malformed paths', async () => {
    const url = (await driver.signedGetUrl('media/nothing/here', { expiresInSeconds: 60 })).url;
    await expectError(await fetch(url), 404, 'OBJECT_NOT_FOUND');
    const base = new URL(await link());
    await expectError(await fetch(new URL('/objects/a/%E0%A4%A/b', base)), 400, 'INVALID_KEY');
    await expectError(await fetch(new URL('/objects/a%2F..%2Fb', base)), 400, 'INVALID_KEY');
    await expectError(await fetch(base, { method: 'POST' }), 405, 'METHOD_NOT_ALLOWED');
  });

  it('falls through for paths outside /objects/', async () => {
    const res = await fetch(new URL('/graphql', await link()));
    expect(res.status).toBe(418);
  });
});

describe('local object route: PUT', () => {
  const upload = bytes(3000, 7);

  it('stores a signed upload and calls onPut', async () => {
    const key = 'media/acc-1/item-2/original';
    const signed = await driver.signedPutUrl(key, { expiresInSeconds: 60, contentType: 'video/mp4', contentLength: upload.length });
    const res = await fetch(signed.url, { method: signed.method, headers: signed.headers, body: Uint8Array.from(upload) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ key, size: upload.length, sha256: sha256(upload) });
    expect(puts.at(-1)).toMatchObject({ key, result: { size: upload.length, sha256: sha256(upload) } });
    expect(await driver.head(key)).toMatchObject({ size: upload.length, contentType: 'video/mp4' });
  });

  it('rejects a body whose length or type differs from the signed ones', async () => {
    const key = 'media/acc-1/item-3/original';
    const signed = await driver.signedPutUrl(key, { expiresInSeconds: 60, contentType: 'video/mp4', contentLength: upload.length });
    const before = puts.length;
    const shorter = await fetch(signed.url, {
      method: 'PUT',
      headers: { 'Content-Type': 'video/mp4' },
      body: Uint8Array.from(upload.subarray(1)),
    });
    await expectError(shorter, 400, 'CONTENT_LENGTH_MISMATCH');
    const wrongType = await fetch(signed.url, {
      method: 'PUT',
      headers: { ...signed.headers, 'Content-Type': 'text/html' },
      body: Uint8Array.from(upload),
    });
    await expectError(wrongType, 400, 'CONTENT_TYPE_MISMATCH');
    expect(puts.length).toBe(before);
    expect(await driver.head(key)).toBeNull();
  });

  it('rejects an expired or GET-signed upload link', async () => {
    const key = 'media/acc-1/item-4/original';
    const signed = await driver.signedPutUrl(key, { expiresInSeconds: 60, contentType: 'video/mp4' });
    clock += 120_000;
    const expired = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: Uint8Array.from(upload) });
    await expectError(expired, 403, 'SIGNATURE_EXPIRED');
    clock = Date.now();
    const getLink = (await driver.signedGetUrl(key, { expiresInSeconds: 60 })).url;
    await expectError(await fetch(getLink, { method: 'PUT', body: Uint8Array.from(upload) }), 403, 'SIGNATURE_INVALID');
    expect(await driver.head(key)).toBeNull();
  });

  it('lets the owner of a key refuse a validly signed PUT before anything is stored (409)', async () => {
    const key = 'media/acc-1/item-5/original';
    const signed = await driver.signedPutUrl(key, { expiresInSeconds: 60, contentType: 'video/mp4', contentLength: upload.length });
    expect((await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: Uint8Array.from(upload) })).status).toBe(200);
    closed.add(key);
    const before = puts.length;
    const again = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: Uint8Array.from(bytes(upload.length, 99)) });
    await expectError(again, 409, 'CONFLICT');
    expect(puts.length).toBe(before);
    expect(await driver.head(key)).toMatchObject({ size: upload.length });
    expect(sha256(Buffer.concat(await (await driver.get(key)).body.toArray()))).toBe(sha256(upload));
  });
});
