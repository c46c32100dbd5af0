// Download tasks end to end: real media servers on loopback, real CONNECT
// proxies, s3rver and the GCS emulator as destinations, the webhook receiver
// for callbacks.
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsStorageDriver } from '../../src/platform/storage/gcs.js';
import { S3StorageDriver } from '../../src/platform/storage/s3.js';
import { verifyWebhook } from '../../src/webhooks/signing.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { startGcsEmulator, type GcsEmulator } from '../support/gcs-emulator.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makePng, makeWav, sendBytes, startRoutes } from '../fetch-jobs/fixtures.js';
import { startReceiver, until, type Receiver } from '../webhooks/receiver.js';
import { allow, createTask, headers, waitForTask } from './helpers.js';

let gw: TestGateway;
let s3: TestS3;
let gcs: GcsEmulator;
let media: TestServer;
let defaultProxy: ConnectProxy;
let germanProxy: ConnectProxy;
let receiver: Receiver;
let png: Buffer;
const wav = makeWav(300_000);
let owner: { key: string; accountId: string };

beforeAll(async () => {
  png = await makePng(120, 80);
  [s3, gcs, defaultProxy, germanProxy, receiver] = await Promise.all([startS3(), startGcsEmulator(), startConnectProxy(), startConnectProxy(), startReceiver()]);
  media = await startRoutes({
    '/image.png': (req, res) => sendBytes(req, res, png, 'application/octet-stream'),
    '/song.wav': (req, res) => sendBytes(req, res, wav, 'audio/wav'),
    '/slow.wav': (req, res) => sendBytes(req, res, wav, 'audio/wav', { chunk: 16 * 1024, delayMs: 60 }),
    '/gone': (_req, res) => res.writeHead(404).end(),
  });
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  gw = await startTestGateway({
    env: {
      FETCH_ALLOW_NETWORKS: '127.0.0.0/8',
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      STORAGE_EMULATOR_HOST: gcs.url,
      PROXY_DEFAULT: defaultProxy.url,
      PROXY_DE: germanProxy.url,
      FETCH_RETRY_DELAY_SECONDS: '1',
      WEBHOOK_RETRY_BASE_SECONDS: '1',
    },
  });
  owner = await gw.keyFor('dl-owner');
  await allow(gw, owner.key, `s3://${s3.bucket}/dl/`);
  await allow(gw, owner.key, `gs://media-test/gcs-dl`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([s3?.close(), gcs?.close(), defaultProxy?.close(), germanProxy?.close(), receiver?.close()]);
  await closeAll();
});

const s3Driver = () => new S3StorageDriver(`s3://${s3.bucket}`, { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials });
const s3Keys = async (prefix: string) => ((await s3Driver().client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key);
const s3Bytes = async (key: string) => Buffer.from(await (await s3Driver().client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());

describe('createDownloadTask', () => {
  it('downloads into S3 under prefix + objectName + sniffed extension, with the sniffed Content-Type, answering PENDING at once', async () => {
    const { task, error } = await createTask(gw, owner.key, { url: `${media.origin}/image.png`, expectedMimeTypes: ['image/*'], storage: { type: 'S3', url: `s3://${s3.bucket}/dl/`, objectName: 'my-image' } });
    expect(error).toBeUndefined();
    expect(task).toMatchObject({ state: 'PENDING', accountName: 'dl-owner', apiType: 'media', input: { country: 'US', locale: null, storageCompress: false, expectedMimeTypes: ['image/*'], storage: { type: 'S3', url: `s3://${s3.bucket}/dl/`, objectName: 'my-image' } } });
    const done = await waitForTask(gw, owner.key, task.id);
    expect(done).toMatchObject({ state: 'SUCCESS', status: 'SUCCESS', kind: 'DOWNLOAD', stage: 'DONE', error: null, bytesReceived: png.length, attempt: 1 });
    expect(done.result).toMatchObject({ url: `s3://${s3.bucket}/dl/my-image.png`, key: 'my-image.png', size: png.length, contentType: 'image/png', contentEncoding: null });
    const head = await s3Driver().client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'dl/my-image.png' }));
    expect(head.ContentType).toBe('image/png');
    expect((await s3Bytes('dl/my-image.png')).equals(png)).toBe(true);
    // The default proxy carried it, tunnelled to the checked address.
    expect(defaultProxy.tunnels.some((t) => t.authority === `127.0.0.1:${media.port}`)).toBe(true);
  });

  it('downloads into GCS (gcs:// is an alias of gs://), named after the task without objectName', async () => {
    const { task } = await createTask(gw, owner.key, { url: `${media.origin}/song.wav`, storage: { url: 'gcs://media-test/gcs-dl/sub/' } });
    expect(task.input.storage).toEqual({ type: 'GS', url: 'gs://media-test/gcs-dl/sub/', objectName: null });
    const done = await waitForTask(gw, owner.key, task.id);
    expect(done.state).toBe('SUCCESS');
    expect(done.result).toMatchObject({ url: `gs://media-test/gcs-dl/sub/${task.uuid}.wav`, contentType: 'audio/wav', size: wav.length });
    const driver = new GcsStorageDriver('gs://media-test/gcs-dl/sub', { apiEndpoint: gcs.url, projectId: 'test' });
    expect(await driver.head(`${task.uuid}.wav`)).toMatchObject({ size: wav.length, contentType: 'audio/wav' });
  });

  it('gzips when storageCompress: .gz key, Content-Encoding gzip, and gunzip gives the original bytes', async () => {
    const { task } = await createTask(gw, owner.key, { url: `${media.origin}/song.wav`, storageCompress: true, storage: { url: `s3://${s3.bucket}/dl/zipped/`, objectName: 'song' } });
    const done = await waitForTask(gw, owner.key, task.id);
    expect(done.result).toMatchObject({ key: 'song.wav.gz', contentType: 'audio/wav', contentEncoding: 'gzip' });
    const head = await s3Driver().client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'dl/zipped/song.wav.gz' }));
    expect(head.ContentEncoding).toBe('gzip');
    expect(head.ContentLength).toBe(done.result.size);
    expect(gunzipSync(await s3Bytes('dl/zipped/song.wav.gz')).equals(wav)).toBe(true);
  });

  it('fails MIME_NOT_EXPECTED naming what was found, and stores nothing', async () => {
    const { task } = await createTask(gw, owner.key, { url: `${media.origin}/image.png`, expectedMimeTypes: ['video/*', 'audio/wav'], storage: { url: `s3://${s3.bucket}/dl/mime/`, objectName: 'nope' } });
    const done = await waitForTask(gw, owner.key, task.id);
    expect(done).toMatchObject({ state: 'FAILED', error: { code: 'MIME_NOT_EXPECTED' }, result: null });
    expect(done.error.message).toContain('image/png');
    expect(await s3Keys('dl/mime/')).toEqual([]);
  });

  it('refuses a destination outside the allow-list with FORBIDDEN before fetching anything', async () => {
    const before = media.seen.length;
    const { error, task } = await createTask(gw, owner.key, { url: `${media.origin}/image.png?never`, storage: { url: `s3://${s3.bucket}/elsewhere/` } });
    expect(task).toBeUndefined();
    expect(error.extensions.code).toBe('FORBIDDEN');
    const other = await gw.keyFor('dl-stranger');
    // Another account's allow-list does not count either.
    const theirs = await createTask(gw, other.key, { url: `${media.origin}/image.png?never`, storage: { url: `s3://${s3.bucket}/dl/` } });
    expect(theirs.error.extensions.code).toBe('FORBIDDEN');
    await new Promise((r) => setTimeout(r, 200));
    expect(media.seen.slice(before).filter((r) => r.url.includes('never'))).toEqual([]);
  });

  it('leaves through the country\'s proxy with its Accept-Language; locale wins when given', async () => {
    const de = await createTask(gw, owner.key, { url: `${media.origin}/image.png?de`, country: 'de' });
    expect(de.task.input.country).toBe('DE');
    await waitForTask(gw, owner.key, de.task.id);
    expect(germanProxy.tunnels.map((t) => t.authority)).toContain(`127.0.0.1:${media.port}`);
    expect(media.seen.find((r) => r.url.endsWith('?de'))?.headers['accept-language']).toBe('de-DE,de;q=0.9');
    const gb = await createTask(gw, owner.key, { url: `${media.origin}/image.png?gb`, country: 'DE', locale: 'en-gb' });
    expect(gb.task.input.locale).toBe('en-GB');
    await waitForTask(gw, owner.key, gb.task.id);
    expect(media.seen.find((r) => r.url.endsWith('?gb'))?.headers['accept-language']).toBe('en-GB,en;q=0.9');
    const auto = await createTask(gw, owner.key, { url: `${media.origin}/image.png?jp`, country: 'JP', locale: 'auto' });
    await waitForTask(gw, owner.key, auto.task.id);
    expect(media.seen.find((r) => r.url.endsWith('?jp'))?.headers['accept-language']).toBe('ja-JP,ja;q=0.9');
  });

  it('calls back with the task (reference shape), signed with the account secret, retried after a 500', async () => {
    receiver.script('/task-done', [500, 200]);
    const { task } = await createTask(gw, owner.key, { url: `${media.origin}/image.png?cb`, callbackUrl: receiver.url('/task-done') });
    await waitForTask(gw, owner.key, task.id);
    const calls = await until(() => (receiver.requests('/task-done').length >= 2 ? receiver.requests('/task-done') : undefined), 20_000, 'the retried callback');
    const secret = (await gql(gw, headers(owner.key), '{ viewer { webhookSecret } }')).body.data.viewer.webhookSecret;
    const bodies = calls.map((c) => verifyWebhook(secret, c.headers as Record<string, string>, c.body)) as any[];
    expect(calls[0]!.headers['webhook-id']).toBe(calls[1]!.headers['webhook-id']);
    expect(bodies[1]).toMatchObject({ type: 'download_task.completed', data: { id: task.uuid, state: 'success', account_name: 'dl-owner', api_type: 'media', input: { url: `${media.origin}/image.png?cb`, country: 'US' } } });
    const log = await gql(gw, headers(owner.key), '{ webhookDeliveries(first: 5) { nodes { url status attempts attemptLog { statusCode } } } }');
    expect(log.body.data.webhookDeliveries.nodes.find((d: any) => d.url === receiver.url('/task-done'))).toMatchObject({ status: 'DELIVERED', attempts: 2, attemptLog: [{ statusCode: 500 }, { statusCode: 200 }] });
  });

  it('cancel stops a running transfer: FAILED/CANCELLED, no object left', async () => {
    const { task } = await createTask(gw, owner.key, { url: `${media.origin}/slow.wav`, storage: { url: `s3://${s3.bucket}/dl/cancel/`, objectName: 'slow' } });
    await waitForTask(gw, owner.key, task.id, (t) => t.state === 'IN_PROGRESS' && t.bytesReceived > 0);
    const r = await gql(gw, headers(owner.key), 'mutation($id: ID!) { cancelDownloadTask(id: $id) { state error { code } } }', { id: task.id });
    expect(r.body.data.cancelDownloadTask).toEqual({ state: 'FAILED', error: { code: 'CANCELLED' } });
    await new Promise((res) => setTimeout(res, 1000));
    expect((await waitForTask(gw, owner.key, task.id)).error.code).toBe('CANCELLED');
    expect(await s3Keys('dl/cancel/')).toEqual([]);
    const again = await gql(gw, headers(owner.key), 'mutation($id: ID!) { cancelDownloadTask(id: $id) { state } }', { id: task.id });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('an idempotency key returns the same task for the same input and CONFLICT for other input', async () => {
    const input = { url: `${media.origin}/image.png?idem`, idempotencyKey: 'order-7' };
    const a = await createTask(gw, owner.key, input);
    const b = await createTask(gw, owner.key, input);
    expect(b.task.id).toBe(a.task.id);
    const c = await createTask(gw, owner.key, { ...input, country: 'DE' });
    expect(c.error.extensions.code).toBe('CONFLICT');
  });

  it('lists tasks newest first by state, and another account sees none of them', async () => {
    const list = await gql(gw, headers(owner.key), '{ downloadTasks(state: SUCCESS, first: 2) { nodes { state } pageInfo { hasNextPage endCursor } } }');
    expect(list.body.data.downloadTasks.nodes).toEqual([{ state: 'SUCCESS' }, { state: 'SUCCESS' }]);
    expect(list.body.data.downloadTasks.pageInfo.hasNextPage).toBe(true);
    const stranger = await gw.keyFor('dl-peeker');
    const theirs = await gql(gw, headers(stranger.key), '{ downloadTasks { nodes { id } } }');
    expect(theirs.body.data.downloadTasks.nodes).toEqual([]);
    const any = list.body.data.downloadTasks;
    const mine = await createTask(gw, owner.key, { url: `${media.origin}/image.png?peek` });
    const peek = await gql(gw, headers(stranger.key), 'query($id: ID!) { downloadTask(id: $id) { id } }', { id: mine.task.id });
    expect(peek.body.errors?.[0]).toMatchObject({ message: `Download task ${mine.task.id} not found`, extensions: { code: 'NOT_FOUND' } });
    void any;
  });

  it('refuses bad input with VALIDATION naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ country: 'XX' }, 'country'],
      [{ country: 'EU' }, 'country'],
      [{ country: 'USA' }, 'country'],
      [{ locale: 'not a locale!' }, 'locale'],
      [{ expectedMimeTypes: ['image'] }, 'expectedMimeTypes'],
      [{ storage: { url: 'ftp://bucket/x/' } }, 'storage.url'],
      [{ storage: { url: 'file:///tmp/x/' } }, 'storage.url'],
      [{ storage: { type: 'GS', url: `s3://${s3.bucket}/dl/` } }, 'storage.type'],
      [{ storage: { url: `s3://${s3.bucket}/dl/`, objectName: '../escape' } }, 'storage.objectName'],
      [{ storage: { url: `s3://${s3.bucket}/dl/`, objectName: '/absolute' } }, 'storage.objectName'],
      [{ storage: { url: `s3://${s3.bucket}/dl/`, objectName: 'bell\u0007' } }, 'storage.objectName'],
      [{ url: 'gopher://x/' }, 'url'],
      [{ callbackUrl: 'not a url' }, 'callbackUrl'],
    ];
    for (const [extra, field] of cases) {
      const { error } = await createTask(gw, owner.key, { url: `${media.origin}/image.png`, ...extra });
      expect({ extra, code: error?.extensions?.code, field: error?.extensions?.field }).toEqual({ extra, code: 'VALIDATION', field });
    }
  });
});

describe('egress without a proxy', () => {
  let bare: TestGateway;
  beforeAll(async () => {
    bare = await startTestGateway({ mode: 'serve', env: { PROXY_DE: germanProxy.url } });
  });
  afterAll(() => bare?.close());

  it('refuses a country with no proxy and no default (VALIDATION naming it), unless direct egress is allowed', async () => {
    const { key } = await bare.keyFor('bare');
    const fr = await createTask(bare, key, { url: 'https://example.com/a.png', country: 'FR' });
    expect(fr.error.extensions).toMatchObject({ code: 'VALIDATION', field: 'country' });
    expect(fr.error.message).toContain('FR');
    const de = await createTask(bare, key, { url: 'https://example.com/a.png', country: 'DE' });
    expect(de.task.state).toBe('PENDING');
  });
});
