// Files on the local driver: direct uploads through the gateway's own signed
// PUT route, processing in the same process (mode all), links, subscriptions.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processFile } from '../../src/files/jobs.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { subscribeWs } from '../support/subscribers.js';
import { ENTITY, createUpload, getFile, makeImage, makePixelBomb, putBytes, until, uploadMultipart, waitForFile } from './helpers.js';

let gw: TestGateway;
let headers: Record<string, string>;
let other: Record<string, string>;

beforeAll(async () => {
  gw = await startTestGateway({ mode: 'all', env: { MAX_FILE_BYTES: String(4 * 1024 * 1024) } });
  headers = { 'x-api-key': (await gw.keyFor('files-local')).key };
  other = { 'x-api-key': (await gw.keyFor('files-other')).key };
});
afterAll(() => gw?.close());

async function uploadAndProcess(bytes: Buffer, contentType: string) {
  const up = await createUpload(gw, headers, { contentType, fileSize: bytes.length });
  const put = await putBytes(up, bytes);
  expect(put.status).toBe(200);
  return waitForFile(gw, headers, up.file.id);
}

describe('files on local storage', () => {
  it('direct upload by signed PUT completes itself and processes to READY', async () => {
    const jpeg = await makeImage('jpeg', 800, 600);
    const up = await createUpload(gw, headers, { contentType: 'image/jpeg', fileSize: jpeg.length });
    expect(up.file.status).toBe('UPLOADING');
    expect(up.uploadMethod).toBe('PUT');
    expect(up.uploadUrl.startsWith(gw.url)).toBe(true);
    expect(up.uploadExpiresAtUnix).toBe(Math.floor(Date.parse(up.uploadExpiresAt) / 1000));
    expect((await putBytes(up, jpeg)).status).toBe(200);
    const file = await waitForFile(gw, headers, up.file.id);
    expect(file).toMatchObject({ status: 'READY', contentType: 'image/jpeg', fileSize: jpeg.length, width: 800, height: 600, entityType: 'SHIPMENT_ITEM', entityId: ENTITY, failureReason: null });
    expect(file.blurhash).toMatch(/^L.{27}$/);
    expect(file.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(file.downloadExpiresAtUnix).toBe(Math.floor(Date.parse(file.downloadExpiresAt) / 1000));
    expect(file.downloadExpiresAtUnix - Date.now() / 1000).toBeGreaterThan(3500);
    const original = await fetch(file.downloadUrl);
    expect(original.status).toBe(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(jpeg)).toBe(true);
    const thumb = await fetch(file.thumbnailUrl);
    expect(thumb.status).toBe(200);
    const thumbBytes = Buffer.from(await thumb.arrayBuffer());
    expect(thumbBytes.subarray(8, 12).toString()).toBe('WEBP');
    // A finished file cannot be completed again.
    const again = await gql(gw, headers, 'mutation($id: ID!) { completeFileUpload(id: $id) { id } }', { id: file.id });
    expect(again.status).toBe(409);
    expect(again.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('corrects a PNG that claims to be a JPEG', async () => {
    const png = await makeImage('png', 300, 200);
    const file = await uploadAndProcess(png, 'image/jpeg');
    expect(file).toMatchObject({ status: 'READY', contentType: 'image/png', width: 300, height: 200 });
  });

  it('fails a text file posing as a JPEG, with a reason', async () => {
    const text = Buffer.from('this is not a picture at all, just some words\n'.repeat(20));
    const file = await uploadAndProcess(text, 'image/jpeg');
    expect(file.status).toBe('FAILED');
    expect(file.failureReason).toMatch(/text\/plain/);
    expect(file.downloadUrl).toBeNull();
    expect(file.thumbnailUrl).toBeNull();
  });

  it('fails a pixel bomb cleanly without the worker memory exploding', async () => {
    const bomb = await makePixelBomb();
    expect(bomb.length).toBeLessThan(4 * 1024 * 1024);
    let peak = process.memoryUsage().rss;
    const before = peak;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const file = await uploadAndProcess(bomb, 'image/png');
      expect(file.status).toBe('FAILED');
      expect(file.failureReason).toMatch(/pixel/);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(300 * 1024 * 1024);
  });

  it('one-step multipart upload, trusting the bytes over a generic type; oversize is LIMIT_EXCEEDED', async () => {
    const webp = await makeImage('webp', 120, 90);
    const res = await uploadMultipart(gw, headers, webp, 'application/octet-stream');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.uploadFile).toMatchObject({ status: 'UPLOADED', contentType: 'image/webp', fileSize: webp.length });
    const file = await waitForFile(gw, headers, res.body.data.uploadFile.id);
    expect(file).toMatchObject({ status: 'READY', width: 120, height: 90 });

    const big = await uploadMultipart(gw, headers, Buffer.alloc(4 * 1024 * 1024 + 1, 1), 'image/png');
    expect(big.status).toBe(413);
    expect(big.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
  });

  it('refuses bad entity ids naming the wrong part, bad types and oversize declarations', async () => {
    const cases: [string, RegExp][] = [
      ['1RT823V93|SKU-001|BROKEN|51076f94-b531-483c-884b-35ad67afa113', /reason_code/],
      ['1RT823V93|SKU-001|DAMAGED|not-a-uuid', /discrepancy_id/],
      ['1RT823V93|SKU-001|DAMAGED', /4 parts/],
      ['bad id!|SKU-001|DAMAGED|51076f94-b531-483c-884b-35ad67afa113', /shipment_id/],
    ];
    for (const [entityId, part] of cases) {
      const res = await gql(gw, headers, 'mutation($input: CreateFileUploadInput!) { createFileUpload(input: $input) { file { id } } }', { input: { entityType: 'SHIPMENT_ITEM', entityId, contentType: 'image/png', fileSize: 10 } });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'entityId' });
      expect(res.body.errors?.[0]?.message).toMatch(part);
      const search = await gql(gw, headers, 'query($id: String!) { filesByEntity(entityType: SHIPMENT_ITEM, entityId: $id) { edges { cursor } } }', { id: entityId });
      expect(search.body.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    }
    const pdf = await gql(gw, headers, 'mutation { createFileUpload(input: { entityType: SHIPMENT_ITEM, entityId: "EC9UNVLDH|PROD-123|SHORTAGE|f2a18161-c2d4-4834-9133-2466c9b702ad", contentType: "application/pdf", fileSize: 10 }) { file { id } } }');
    expect(pdf.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'contentType' });
    const huge = await gql(gw, headers, `mutation { createFileUpload(input: { entityType: SHIPMENT_ITEM, entityId: "${ENTITY}", contentType: "image/png", fileSize: 999999999 }) { file { id } } }`);
    expect(huge.status).toBe(413);
    expect(huge.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
  });

  it('signed links honour their lifetime and refuse lifetimes outside 1 s .. 7 days', async () => {
    const file = await uploadAndProcess(await makeImage('gif', 64, 64), 'image/gif');
    expect(file.status).toBe('READY');
    const res = await getFile(gw, headers, file.id, 'downloadUrl(expiresInSeconds: 1) downloadExpiresAtUnix(expiresInSeconds: 1) thumbnailUrl(expiresInSeconds: 1)');
    const short = res.body.data.file;
    expect(short.downloadExpiresAtUnix - Date.now() / 1000).toBeLessThanOrEqual(2);
    expect((await fetch(short.downloadUrl)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(short.downloadUrl)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(short.thumbnailUrl)).status).toBeGreaterThanOrEqual(400);
    for (const seconds of [0, 604801]) {
      const bad = await getFile(gw, headers, file.id, `downloadUrl(expiresInSeconds: ${seconds})`);
      expect(bad.body.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    }
    const week = await getFile(gw, headers, file.id, 'downloadExpiresAtUnix(expiresInSeconds: 604800)');
    expect(week.body.data.file.downloadExpiresAtUnix).toBeGreaterThan(Date.now() / 1000 + 604000);
  });

  it('the file subscription delivers UPLOADING → UPLOADED → PROCESSING → READY in order, then completes', async () => {
    const png = await makeImage('png', 200, 150);
    const up = await createUpload(gw, headers, { contentType: 'image/png', fileSize: png.length });
    const client = createClient({ url: `${gw.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0 });
    const seen: { status: string; width: number | null }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ file: { status: string; width: number | null } }>(
        { query: 'subscription($id: ID!) { file(id: $id) { status width } }', variables: { id: up.file.id } },
        { next: (r) => (r.data ? seen.push(r.data.file) : reject(new Error(JSON.stringify(r.errors)))), error: reject, complete: resolve },
      );
    });
    await until(async () => seen.length, (n) => n >= 1);
    expect((await putBytes(up, png)).status).toBe(200);
    await done;
    await client.dispose();
    expect(seen.map((f) => f.status)).toEqual(['UPLOADING', 'UPLOADED', 'PROCESSING', 'READY']);
    expect(seen.at(-1)!.width).toBe(200);
  });

  it('another account sees nothing, and deleteFile removes record and objects', async () => {
    const file = await uploadAndProcess(await makeImage('jpeg', 100, 100), 'image/jpeg');
    const mine = await gql(gw, other, 'query($id: ID!) { file(id: $id) { id } }', { id: file.id });
    expect(mine.status).toBe(404);
    expect(mine.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const list = await gql(gw, other, `{ filesByEntity(entityType: SHIPMENT_ITEM, entityId: "${ENTITY}") { edges { node { id } } } }`);
    expect(list.body.data.filesByEntity.edges).toEqual([]);
    for (const op of ['deleteFile(id: $id)', 'completeFileUpload(id: $id) { id }']) {
      const res = await gql(gw, other, `mutation($id: ID!) { ${op} }`, { id: file.id });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const notUuid = await gql(gw, headers, 'query { file(id: "nope") { id } }');
    expect(notUuid.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const { driver } = gw.runtime.services.storage;
    const row = await gw.runtime.services.files.get((await gw.keyFor('files-local')).accountId, file.id);
    expect(await driver.head(row!.objectKey)).not.toBeNull();
    expect(await driver.head(row!.thumbnailKey!)).not.toBeNull();
    const del = await gql(gw, headers, 'mutation($id: ID!) { deleteFile(id: $id) }', { id: file.id });
    expect(del.body.data.deleteFile).toBe(file.id);
    expect((await getFile(gw, headers, file.id, 'id')).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    await until(async () => [await driver.head(row!.objectKey), await driver.head(row!.thumbnailKey!)], (heads) => heads.every((h) => h === null));
  });

  it('uploads never completed are swept to FAILED and their objects deleted', async () => {
    const png = await makeImage('png', 50, 50);
    const never = await createUpload(gw, headers, { contentType: 'image/png', fileSize: png.length });
    const { accountId } = await gw.keyFor('files-local');
    const files = gw.runtime.services.files;
    const row = (await files.get(accountId, never.file.id))!;
    // An object that arrived without the upload ever completing (as with S3 when the client never calls complete).
    const { Readable } = await import('node:stream');
    await gw.runtime.services.storage.driver.put(row.objectKey, Readable.from([png]));
    expect(await files.sweepExpiredUploads(new Date())).toBe(0);
    const later = new Date(Date.now() + (gw.config.limits.uploadTtlSeconds + 5) * 1000);
    expect(await files.sweepExpiredUploads(later)).toBeGreaterThanOrEqual(1);
    const file = (await getFile(gw, headers, never.file.id, 'status failureReason')).body.data.file;
    expect(file.status).toBe('FAILED');
    expect(file.failureReason).toMatch(/expired/);
    await until(() => gw.runtime.services.storage.driver.head(row.objectKey), (h) => h === null);
    const late = await gql(gw, headers, 'mutation($id: ID!) { completeFileUpload(id: $id) { id } }', { id: never.file.id });
    expect(late.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('processing is idempotent: racing and repeated jobs finish the file once', async () => {
    const { key, accountId } = await gw.keyFor('files-local');
    const events = subscribeWs(gw.url, key, 'subscription { accountEvents(topics: ["file"]) { topic type id at data } }');
    await new Promise((r) => setTimeout(r, 300));
    const png = await makeImage('png', 90, 60);
    const up = await createUpload(gw, headers, { contentType: 'image/png', fileSize: png.length });
    const files = gw.runtime.services.files;
    const row = (await files.get(accountId, up.file.id))!;
    const { Readable } = await import('node:stream');
    await gw.runtime.services.storage.driver.put(row.objectKey, Readable.from([png]));
    await files.completeUpload(accountId, up.file.id);
    // The queued job races two more runs of the same work order, as after a crash and a retry.
    const job = (n: number) => ({ id: `manual-${n}`, queue: 'file-process', signal: new AbortController().signal, retryCount: 0, retryLimit: 5, fence: async () => {} });
    await Promise.all([processFile(files, { accountId, fileId: up.file.id }, job(1)), processFile(files, { accountId, fileId: up.file.id }, job(2))]);
    const file = await waitForFile(gw, headers, up.file.id);
    expect(file.status).toBe('READY');
    const updatedAt = file.updatedAt;
    await processFile(files, { accountId, fileId: up.file.id }, job(3));
    expect((await getFile(gw, headers, up.file.id, 'updatedAt')).body.data.file.updatedAt).toBe(updatedAt);
    await events.waitFor((e) => e.id === up.file.id && e.data.status === 'READY');
    await new Promise((r) => setTimeout(r, 300));
    await events.close();
    const states = events.events.filter((e) => e.id === up.file.id).map((e) => e.data.status);
    expect(states).toEqual(['UPLOADING', 'UPLOADED', 'PROCESSING', 'READY']);
  });
});
