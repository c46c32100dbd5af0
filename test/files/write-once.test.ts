// A signed upload link writes once. Uploads land on a staging key; processing
// copies the staged object to the file's own key, which no link can write, and
// validates that copy. Local storage refuses a PUT once the file has left
// UPLOADING (409); S3's presigned PUT cannot be refused, so a late PUT only
// reaches the staging key, which is deleted again once its link has expired.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processFile } from '../../src/files/jobs.js';
import { originalKey, stagingKey } from '../../src/files/service.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { createUpload, getFile, makeImage, putBytes, until, waitForFile } from './helpers.js';

/** Same length and signed Content-Type as the real upload: all the link checks. */
function lookalikeHtml(length: number): Buffer {
  const html = Buffer.alloc(length, ' ');
  html.write('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
  return html;
}

async function download(file: { downloadUrl: string }): Promise<Buffer> {
  const res = await fetch(file.downloadUrl);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** storage-delete jobs for one key: when each is due. */
async function deletesOf(gw: TestGateway, key: string): Promise<Date[]> {
  const rows = await gw.runtime.database.sql<{ start_after: Date }[]>`select start_after from pgboss.job where name = 'storage-delete' and data->>'key' = ${key}`;
  return rows.map((r) => new Date(r.start_after));
}

describe('signed upload links write once: local storage', () => {
  let gw: TestGateway;
  let headers: Record<string, string>;
  let accountId: string;

  beforeAll(async () => {
    gw = await startTestGateway({ mode: 'all' });
    const key = await gw.keyFor('write-once-local');
    headers = { 'x-api-key': key.key };
    accountId = key.accountId;
  });
  afterAll(() => gw?.close());

  it('a second PUT after READY is 409 and the file keeps its validated PNG', async () => {
    const png = await makeImage('png', 120, 80);
    const up = await createUpload(gw, headers, { contentType: 'image/png', fileSize: png.length });
    expect((await putBytes(up, png)).status).toBe(200);
    const ready = await waitForFile(gw, headers, up.file.id);
    expect(ready).toMatchObject({ status: 'READY', contentType: 'image/png', width: 120 });

    const again = await putBytes(up, lookalikeHtml(png.length));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('CONFLICT');

    const after = (await getFile(gw, headers, up.file.id)).body.data.file;
    expect(after).toMatchObject({ status: 'READY', contentType: 'image/png', fileSize: png.length });
    expect((await download(after)).equals(png)).toBe(true);
    // Nothing is left on the key the link could write.
    const { driver } = gw.runtime.services.storage;
    await until(() => driver.head(stagingKey(accountId, up.file.id)), (head) => head === null);
  });

  it('a PUT right after the first one, before processing ends, is 409 too; so is one after deleteFile', async () => {
    const jpeg = await makeImage('jpeg', 64, 48);
    const up = await createUpload(gw, headers, { contentType: 'image/jpeg', fileSize: jpeg.length });
    expect((await putBytes(up, jpeg)).status).toBe(200);
    expect((await putBytes(up, lookalikeHtml(jpeg.length))).status).toBe(409);
    const ready = await waitForFile(gw, headers, up.file.id);
    expect(ready.status).toBe('READY');
    expect((await download(ready)).equals(jpeg)).toBe(true);

    const other = await createUpload(gw, headers, { contentType: 'image/jpeg', fileSize: jpeg.length });
    await gql(gw, headers, 'mutation($id: ID!) { deleteFile(id: $id) }', { id: other.file.id });
    expect((await putBytes(other, jpeg)).status).toBe(409);
  });

  it('a FAILED file leaves nothing in storage', async () => {
    const text = Buffer.from('not a picture\n'.repeat(50));
    const up = await createUpload(gw, headers, { contentType: 'image/png', fileSize: text.length });
    expect((await putBytes(up, text)).status).toBe(200);
    expect((await waitForFile(gw, headers, up.file.id)).status).toBe('FAILED');
    const { driver } = gw.runtime.services.storage;
    const keys = [stagingKey(accountId, up.file.id), originalKey(accountId, up.file.id)];
    await until(() => Promise.all(keys.map((key) => driver.head(key))), (heads) => heads.every((head) => head === null));
  });
});

describe('signed upload links write once: racing processing attempts', () => {
  let gw: TestGateway;
  let headers: Record<string, string>;
  let accountId: string;

  beforeAll(async () => {
    // No workers: the test runs the attempts itself. One image slot, so it can hold an attempt at a known point.
    gw = await startTestGateway({ mode: 'serve', env: { IMAGE_CONCURRENCY: '1' } });
    const key = await gw.keyFor('write-once-race');
    headers = { 'x-api-key': key.key };
    accountId = key.accountId;
  });
  afterAll(() => gw?.close());

  it('an attempt whose checked copy was replaced before READY steps back; READY never serves bytes nobody checked', async () => {
    const { files, storage, images } = gw.runtime.services;
    const { sql } = gw.runtime.database;
    const png = await makeImage('png', 60, 40);
    const up = await createUpload(gw, headers, { contentType: 'image/png', fileSize: png.length });
    await storage.driver.put(stagingKey(accountId, up.file.id), Readable.from([png]), { contentType: 'image/png' });
    await files.completeUpload(accountId, up.file.id);
    const job = (n: number) => ({ id: `race-${n}`, queue: 'file-process', signal: new AbortController().signal, retryCount: 0, retryLimit: 3, fence: async () => {} });

    // Attempt A copies the PNG to the file's key, then waits for the image slot the test holds.
    let freeSlot!: () => void;
    const slotHeld = images.withLocalCopy(async () => Readable.from([Buffer.from('x')]), {}, () => new Promise<void>((resolve) => (freeSlot = resolve)));
    const a = processFile(files, { accountId, fileId: up.file.id }, job(1));
    const copied = originalKey(accountId, up.file.id);
    await until(() => storage.driver.head(copied), (head) => head !== null);

    // The test now plays attempt B: it holds the file's row, lets A check the PNG,
    // and (A waiting for the row to mark it READY) copies a late write over it.
    await sql.begin(async (tx) => {
      await tx`select id from files where id = ${up.file.id} for update`;
      freeSlot();
      await slotHeld;
      await until(async () => (await sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)[0]!.n, (n) => n > 0);
      const html = Buffer.alloc(png.length, ' ');
      html.write('<html><script>alert(1)</script></html>');
      await storage.driver.put(stagingKey(accountId, up.file.id), Readable.from([html]), { contentType: 'image/png' });
      await storage.driver.copy(stagingKey(accountId, up.file.id), copied);
    });
    await a;
    // A checked a PNG that is no longer there: it must not call the file READY.
    expect((await files.get(accountId, up.file.id))!.status).toBe('PROCESSING');

    // B carries on with what is there now, and it is no image.
    await processFile(files, { accountId, fileId: up.file.id }, job(2));
    const file = (await getFile(gw, headers, up.file.id, 'status failureReason downloadUrl')).body.data.file;
    expect(file).toMatchObject({ status: 'FAILED', downloadUrl: null });
    expect(file.failureReason).toMatch(/text\/html/);
  });
});

describe('signed upload links write once: S3', () => {
  let s3: TestS3;
  let gw: TestGateway;
  let headers: Record<string, string>;
  let accountId: string;

  beforeAll(async () => {
    s3 = await startS3();
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    gw = await startTestGateway({ mode: 'all', env: { STORAGE_URL: `s3://${s3.bucket}/gw`, S3_ENDPOINT: s3.endpoint, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true' } });
    const key = await gw.keyFor('write-once-s3');
    headers = { 'x-api-key': key.key };
    accountId = key.accountId;
  });
  afterAll(async () => {
    await gw?.close();
    await s3?.close();
  });

  it('a presigned PUT after READY reaches only the staging key, which is deleted once the link has expired', async () => {
    const png = await makeImage('png', 90, 60);
    const up = await createUpload(gw, headers, { contentType: 'image/png', fileSize: png.length });
    expect((await putBytes(up, png)).status).toBe(200);
    const done = await gql(gw, headers, 'mutation($id: ID!) { completeFileUpload(id: $id) { status } }', { id: up.file.id });
    expect(done.body.errors).toBeUndefined();
    const ready = await waitForFile(gw, headers, up.file.id);
    expect(ready).toMatchObject({ status: 'READY', contentType: 'image/png' });
    const staged = stagingKey(accountId, up.file.id);
    const { driver } = gw.runtime.services.storage;
    // Once READY, the upload is deleted from the staging key…
    await until(() => driver.head(staged), (head) => head === null);

    // …but the bucket cannot tell a late PUT from the first one.
    const html = lookalikeHtml(png.length);
    expect((await putBytes(up, html)).status).toBe(200);

    const after = (await getFile(gw, headers, up.file.id)).body.data.file;
    expect(after).toMatchObject({ status: 'READY', contentType: 'image/png' });
    expect((await download(after)).equals(png)).toBe(true);

    expect(await driver.head(staged)).toMatchObject({ size: html.length });
    // So the staging key is deleted again once the link can no longer write.
    const due = await deletesOf(gw, staged);
    const linkExpiry = Date.parse(up.uploadExpiresAt);
    expect(due.some((at) => at.getTime() >= linkExpiry)).toBe(true);
  });
});
