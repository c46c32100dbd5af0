// The upload → thumbnail → download → delete path against a real S3-speaking server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { makeJpeg, makeWav, upload, waitUntil } from './helpers.js';

let s3: TestS3;
let gateway: TestGateway;
let key: string;
let accountId: string;

beforeAll(async () => {
  s3 = await startS3();
  // The AWS SDK takes credentials from the environment, as in production.
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  gateway = await startTestGateway({
    env: { STORAGE_URL: `s3://${s3.bucket}/library`, S3_ENDPOINT: s3.endpoint, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true', MAX_UPLOAD_BYTES: '200000' },
  });
  ({ key, accountId } = await gateway.keyFor('s3-owner'));
});
afterAll(async () => {
  await gateway?.close();
  await s3?.close();
});

describe('media library on S3', () => {
  it('uploads, thumbnails, downloads and deletes through S3', async () => {
    const jpeg = await makeJpeg();
    const { item, body } = await upload(gateway, key, jpeg, { name: 'on-s3.jpg' });
    expect(body.errors).toBeUndefined();
    expect(item).toMatchObject({ storeId: 's3', mimeType: 'image/jpeg', mediaSize: jpeg.length, width: 32, height: 64 });
    const driver = gateway.runtime.services.storage.driver;
    const original = `media/${accountId}/${item.uuid}/original`;
    expect(await driver.head(original)).toMatchObject({ size: jpeg.length });

    const res = await fetch(`${gateway.url}/media/${item.uuid}`, { headers: { 'x-api-key': key } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(jpeg)).toBe(true);
    const range = await fetch(`${gateway.url}/media/${item.uuid}`, { headers: { 'x-api-key': key, range: 'bytes=2-5' } });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(jpeg.subarray(2, 6))).toBe(true);

    const thumbUrl = await waitUntil(async () => {
      const r = await gql(gateway, { 'x-api-key': key }, `query($id: ID!) { mediaItem(id: $id) { thumbnailUrl timesDownloaded } }`, { id: item.id });
      return r.body.data.mediaItem.thumbnailUrl as string | null;
    }, 20_000, 'thumbnail on S3');
    const thumb = await fetch(thumbUrl);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');

    await gql(gateway, { 'x-api-key': key }, `mutation($id: ID!) { deleteMediaItem(id: $id) }`, { id: item.id });
    await waitUntil(async () => !(await driver.head(original)) && !(await driver.head(`media/${accountId}/${item.uuid}/thumbnail.webp`)), 20_000, 'S3 objects deleted');
  });

  it('refuses an oversized upload and leaves nothing in the bucket', async () => {
    const res = await upload(gateway, key, makeWav(150_000), { name: 'big.wav' });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    const count = await gateway.runtime.services.database.sql`select count(*)::int as n from media_items where original_file_name = 'big.wav'`;
    expect(count[0].n).toBe(0);
    const { S3Client, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `library/media/${accountId}/` }));
    expect(listed.Contents ?? []).toEqual([]);
  });
});
