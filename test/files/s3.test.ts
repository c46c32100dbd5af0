// Files on S3 (s3rver): presigned PUT straight to the store, then completeFileUpload.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { createUpload, makeImage, putBytes, until, waitForFile } from './helpers.js';

let s3: TestS3;
let gw: TestGateway;
let headers: Record<string, string>;
let accountId: string;
const COMPLETE = 'mutation($id: ID!) { completeFileUpload(id: $id) { id status } }';

beforeAll(async () => {
  s3 = await startS3();
  // The AWS SDK reads credentials from the environment.
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  gw = await startTestGateway({ mode: 'all', env: { STORAGE_URL: `s3://${s3.bucket}/gw`, S3_ENDPOINT: s3.endpoint, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true' } });
  const key = await gw.keyFor('files-s3');
  headers = { 'x-api-key': key.key };
  accountId = key.accountId;
});
afterAll(async () => {
  await gw?.close();
  await s3?.close();
});

describe('files on S3', () => {
  it('presigned PUT by plain HTTP, then completeFileUpload, processes to READY; the entity subscription follows along', async () => {
    const entityId = 'S3SHIP01|SKU-9|SHORTAGE|0b8f8a52-6f3e-4a53-9d51-3a3c9e1d2f10';
    const client = createClient({ url: `${gw.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0 });
    const live: string[] = [];
    const stop = client.subscribe<{ filesByEntity: { id: string; status: string } }>(
      { query: `subscription { filesByEntity(entityType: SHIPMENT_ITEM, entityId: "${entityId}") { id status } }` },
      { next: (r) => r.data && live.push(r.data.filesByEntity.status), error: () => {}, complete: () => {} },
    );
    await new Promise((r) => setTimeout(r, 300)); // let the subscription register

    const jpeg = await makeImage('jpeg', 640, 360);
    const up = await createUpload(gw, headers, { contentType: 'image/jpeg', fileSize: jpeg.length, entityId });
    expect(up.uploadUrl.startsWith(s3.endpoint)).toBe(true);
    expect(up.uploadUrl).toContain('X-Amz-Signature');

    const early = await gql(gw, headers, COMPLETE, { id: up.file.id });
    expect(early.status).toBe(409);
    expect(early.body.errors?.[0]?.message).toMatch(/nothing has been uploaded/);

    const put = await putBytes(up, jpeg);
    expect(put.status).toBe(200);
    const done = await gql(gw, headers, COMPLETE, { id: up.file.id });
    expect(done.body.errors).toBeUndefined();
    expect(done.body.data.completeFileUpload.status).toBe('UPLOADED');
    const twice = await gql(gw, headers, COMPLETE, { id: up.file.id });
    expect(twice.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const file = await waitForFile(gw, headers, up.file.id);
    expect(file).toMatchObject({ status: 'READY', width: 640, height: 360, contentType: 'image/jpeg' });
    expect(file.blurhash).toHaveLength(28);
    expect(file.downloadUrl).toContain('X-Amz-Expires=3600');
    const thumb = await fetch(file.thumbnailUrl);
    expect(thumb.status).toBe(200);
    expect(Buffer.from(await thumb.arrayBuffer()).subarray(8, 12).toString()).toBe('WEBP');
    expect(Buffer.from(await (await fetch(file.downloadUrl)).arrayBuffer()).equals(jpeg)).toBe(true);

    await until(async () => live, (l) => l.includes('READY'));
    expect(live).toEqual(['UPLOADING', 'UPLOADED', 'PROCESSING', 'READY']);
    stop();
    await client.dispose();
  });

  it('a size mismatch is a CONFLICT, and an expired upload is swept with its object', async () => {
    const png = await makeImage('png', 40, 40);
    const up = await createUpload(gw, headers, { contentType: 'image/png', fileSize: png.length + 10 });
    const files = gw.runtime.services.files;
    const row = (await files.get(accountId, up.file.id))!;
    const { Readable } = await import('node:stream');
    // Stored behind the link's back, as a client ignoring the signed length might.
    await gw.runtime.services.storage.driver.put(row.objectKey, Readable.from([png]));
    const res = await gql(gw, headers, COMPLETE, { id: up.file.id });
    expect(res.status).toBe(409);
    expect(res.body.errors?.[0]?.message).toMatch(/declared/);

    await files.sweepExpiredUploads(new Date(Date.now() + (gw.config.limits.uploadTtlSeconds + 1) * 1000));
    expect((await files.get(accountId, up.file.id))!.status).toBe('FAILED');
    await until(() => gw.runtime.services.storage.driver.head(row.objectKey), (h) => h === null);
  });
});
