import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { ITEM_FIELDS, makeJpeg, makeWav, subscribeMediaEvents, upload, waitUntil } from './helpers.js';

let gateway: TestGateway;
let owner: { key: string; accountId: string };
let other: { key: string; accountId: string };
const h = (key: string) => ({ 'x-api-key': key });

beforeAll(async () => {
  gateway = await startTestGateway();
  owner = await gateway.keyFor('media-owner');
  other = await gateway.keyFor('media-other');
});
afterAll(() => gateway?.close());

async function subscribeMedia(key: string) {
  const sub = subscribeMediaEvents(gateway.url, key);
  await sub.ready;
  return { ...sub, waitForItem: sub.waitFor };
}

describe('media library', () => {
  it('uploads a JPEG: sniffed type, original name, hashes, rotated size, thumbnail announced', async () => {
    const events = await subscribeMedia(owner.key);
    const strangers = await subscribeMedia(other.key);
    const jpeg = await makeJpeg();
    const res = await upload(gateway, owner.key, jpeg, { name: 'holiday photo.jpg', type: 'text/plain', input: { title: 'Beach', metadataPrimary: 'p1' } });
    expect(res.body.errors).toBeUndefined();
    const item = res.item;
    expect(item).toMatchObject({
      originalFileName: 'holiday photo.jpg',
      mimeType: 'image/jpeg',
      storeId: 'local',
      mediaSize: jpeg.length,
      sha256: createHash('sha256').update(jpeg).digest('hex'),
      width: 32,
      height: 64,
      public: false,
      timesDownloaded: 0,
      maxDownloadsAllowed: null,
      title: 'Beach',
      metadataPrimary: 'p1',
      account: { name: 'media-owner' },
      thumbnailUrl: null,
    });
    expect(item.etag).toMatch(/^[0-9a-f]{32}$/);
    await events.waitForItem('CREATED', item.uuid);
    const ready: any = await events.waitForItem('THUMBNAIL_READY', item.uuid, 20_000);
    expect(ready.mediaItem.thumbnailUrl).toMatch(/^http/);
    const thumb = Buffer.from(await (await fetch(ready.mediaItem.thumbnailUrl)).arrayBuffer());
    const meta = await sharp(thumb).metadata();
    expect(meta.format).toBe('webp');
    expect([meta.width, meta.height]).toEqual([32, 64]); // EXIF rotation applied
    const info = await gql(gateway, h(owner.key), `query($id: ID!) { mediaItem(id: $id) { thumbnailUrl(expiresInSeconds: 60) } }`, { id: item.id });
    expect(info.body.data.mediaItem.thumbnailUrl).toMatch(/^http/);
    expect(strangers.events).toEqual([]);
    expect(strangers.errors).toEqual([]);
    expect(events.events.every((e) => e.mediaItemUuid === item.uuid)).toBe(true);
    await events.close();
    await strangers.close();
  });

  it('uploads a WAV and downloads it with the key, a Range, an ETag and a signed link', async () => {
    const wav = makeWav();
    const events = await subscribeMedia(owner.key);
    const { item } = await upload(gateway, owner.key, wav, { name: 'test.wav', type: 'image/png' });
    expect(item.mimeType).toMatch(/^audio\/(wav|vnd\.wave|x-wav)$/);
    expect(item.width).toBeNull();
    const url = `${gateway.url}/media/${item.uuid}`;
    const full = await fetch(url, { headers: h(owner.key) });
    expect(full.status).toBe(200);
    expect(Buffer.from(await full.arrayBuffer()).equals(wav)).toBe(true);
    expect(full.headers.get('content-disposition')).toContain('test.wav');
    expect(full.headers.get('etag')).toBe(`"${item.etag}"`);
    const downloaded = await events.waitForItem('DOWNLOADED', item.uuid);
    expect(downloaded.mediaItem?.uuid).toBe(item.uuid);
    await events.close();
    const notModified = await fetch(url, { headers: { ...h(owner.key), 'if-none-match': `"${item.etag}"` } });
    expect(notModified.status).toBe(304);
    const part = await fetch(url, { headers: { ...h(owner.key), range: 'bytes=4-11' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(wav.subarray(4, 12))).toBe(true);
    expect(part.headers.get('content-range')).toBe(`bytes 4-11/${wav.length}`);
    // Only the full body counted: 304 and a continuation Range do not.
    const after = await gql(gateway, h(owner.key), `query($id: ID!) { mediaItem(id: $id) { timesDownloaded downloadUrl(expiresInSeconds: 60) } }`, { id: item.id });
    expect(after.body.data.mediaItem.timesDownloaded).toBe(1);
    const signed = await fetch(after.body.data.mediaItem.downloadUrl);
    expect(signed.status).toBe(200);
    await signed.arrayBuffer();
    // Flip the signature's first digit (a fixed replacement would be a no-op when it already holds that digit).
    const tampered = await fetch(after.body.data.mediaItem.downloadUrl.replace(/sig=(.)/, (_m: string, c: string) => `sig=${c === '0' ? '1' : '0'}`));
    expect(tampered.status).toBe(404);
    const bad = await gql(gateway, h(owner.key), `query($id: ID!) { mediaItem(id: $id) { downloadUrl(expiresInSeconds: 9999999) } }`, { id: item.id });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'expiresInSeconds' });
  });

  it('serves public items without a key and hides private ones behind 404', async () => {
    const bytes = Buffer.from('just some text\n');
    const pub = (await upload(gateway, owner.key, bytes, { name: 'a.txt', input: { public: true } })).item;
    const priv = (await upload(gateway, owner.key, bytes, { name: 'b.txt' })).item;
    const open = await fetch(`${gateway.url}/media/${pub.uuid}`);
    expect(open.status).toBe(200);
    expect(await open.text()).toBe('just some text\n');
    for (const headers of [{}, h(other.key), { 'x-api-key': 'mgk_nope.nope' }]) {
      const res = await fetch(`${gateway.url}/media/${priv.uuid}`, { headers });
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('NOT_FOUND');
    }
    const missing = await fetch(`${gateway.url}/media/00000000-0000-4000-8000-000000000000`, { headers: h(owner.key) });
    expect(missing.status).toBe(404);
  });

  it('100 concurrent downloads of an item limited to 10 serve exactly 10', async () => {
    const { item } = await upload(gateway, owner.key, makeWav(2000), { name: 'limited.wav', input: { maxDownloadsAllowed: 10, public: true } });
    const statuses = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await fetch(`${gateway.url}/media/${item.uuid}`);
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status === 410) expect(JSON.parse(body.toString()).error.code).toBe('GONE');
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 410)).toHaveLength(90);
    const info = await gql(gateway, h(owner.key), `query($id: ID!) { mediaItem(id: $id) { timesDownloaded } }`, { id: item.uuid });
    expect(info.body.data.mediaItem.timesDownloaded).toBe(10);
    // Lifting the limit lets downloads through again.
    await gql(gateway, h(owner.key), `mutation($id: ID!) { updateMediaItem(id: $id, input: { maxDownloadsAllowed: null }) { maxDownloadsAllowed } }`, { id: item.id });
    expect((await fetch(`${gateway.url}/media/${item.uuid}`)).status).toBe(200);
  });

  it('a download the client abandons gives its count back', async () => {
    const big = Buffer.concat([makeWav(10), Buffer.alloc(32 * 1024 * 1024, 7)]);
    const { item } = await upload(gateway, owner.key, big, { name: 'big.wav', input: { maxDownloadsAllowed: 1 } });
    const http = await import('node:http');
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${gateway.url}/media/${item.uuid}`, { headers: h(owner.key) }, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no body')), 10_000);
    });
    const count = () => gql(gateway, h(owner.key), `query($id: ID!) { mediaItem(id: $id) { timesDownloaded } }`, { id: item.id }).then((r) => r.body.data.mediaItem.timesDownloaded as number);
    await waitUntil(async () => (await count()) === 0, 10_000, 'count given back');
    const full = await fetch(`${gateway.url}/media/${item.uuid}`, { headers: h(owner.key) });
    expect(full.status).toBe(200);
    expect((await full.arrayBuffer()).byteLength).toBe(big.length);
    expect(await count()).toBe(1);
    expect((await fetch(`${gateway.url}/media/${item.uuid}`, { headers: h(owner.key) })).status).toBe(410);
  });

  it('updates fields, bumps timeLastUpdated, announces it, and validates', async () => {
    const { item } = await upload(gateway, owner.key, makeWav(100), { name: 'u.wav' });
    const events = await subscribeMedia(owner.key);
    const res = await gql(
      gateway,
      h(owner.key),
      `mutation($id: ID!, $input: UpdateMediaItemInput!) { updateMediaItem(id: $id, input: $input) { ${ITEM_FIELDS} } }`,
      { id: item.id, input: { public: true, title: 'T', description: 'D', metadataPrimary: 'm1', metadataSecondary: 'm2', mimeType: 'audio/x-custom', maxDownloadsAllowed: 3 } },
    );
    expect(res.body.data.updateMediaItem).toMatchObject({ public: true, title: 'T', description: 'D', metadataPrimary: 'm1', metadataSecondary: 'm2', mimeType: 'audio/x-custom', maxDownloadsAllowed: 3 });
    expect(new Date(res.body.data.updateMediaItem.timeLastUpdated) > new Date(item.timeLastUpdated)).toBe(true);
    await events.waitForItem('UPDATED', item.uuid);
    await events.close();
    const bad = async (input: object) =>
      (await gql(gateway, h(owner.key), `mutation($id: ID!, $input: UpdateMediaItemInput!) { updateMediaItem(id: $id, input: $input) { id } }`, { id: item.id, input })).body.errors?.[0]?.extensions;
    expect(await bad({ maxDownloadsAllowed: -1 })).toMatchObject({ code: 'VALIDATION', field: 'maxDownloadsAllowed' });
    expect(await bad({ mimeType: 'not a type' })).toMatchObject({ code: 'VALIDATION', field: 'mimeType' });
    const up = await upload(gateway, owner.key, makeWav(10), { input: { maxDownloadsAllowed: -5 } });
    expect(up.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'maxDownloadsAllowed' });
  });

  it('NOT_FOUND names the id the caller sent, whatever its form', async () => {
    for (const sent of ['xyz', '5b7c1e3e-0000-4000-8000-000000000000', Buffer.from('MediaItem:5b7c1e3e-0000-4000-8000-000000000000').toString('base64')]) {
      for (const op of [`query($id: ID!) { mediaItem(id: $id) { id } }`, `mutation($id: ID!) { updateMediaItem(id: $id, input: { title: "x" }) { id } }`, `mutation($id: ID!) { deleteMediaItem(id: $id) }`]) {
        const r = await gql(gateway, h(owner.key), op, { id: sent });
        expect(r.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect(r.body.errors?.[0]?.message).toBe(`Media item ${sent} not found`);
      }
    }
  });

  it("another account's key sees nothing: query, node, update, delete, download, subscription", async () => {
    const { item } = await upload(gateway, owner.key, makeWav(100), { name: 'secret.wav' });
    const watcher = await subscribeMedia(other.key);
    const q = await gql(gateway, h(other.key), `query($id: ID!) { mediaItem(id: $id) { id } node(id: $id) { id } }`, { id: item.id });
    expect(q.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const node = await gql(gateway, h(other.key), `query($id: ID!) { node(id: $id) { id } }`, { id: item.id });
    expect(node.body.data?.node ?? null).toBeNull();
    const list = await gql(gateway, h(other.key), `{ mediaItems { totalCount nodes { id } } }`);
    expect(list.body.data.mediaItems.totalCount).toBe(0);
    const upd = await gql(gateway, h(other.key), `mutation($id: ID!) { updateMediaItem(id: $id, input: { title: "x" }) { id } }`, { id: item.id });
    expect(upd.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const del = await gql(gateway, h(other.key), `mutation($id: ID!) { deleteMediaItem(id: $id) }`, { id: item.id });
    expect(del.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await fetch(`${gateway.url}/media/${item.uuid}`, { headers: h(other.key) })).status).toBe(404);
    // The owner's own change is not announced to the other account.
    await gql(gateway, h(owner.key), `mutation($id: ID!) { updateMediaItem(id: $id, input: { title: "mine" }) { id } }`, { id: item.id });
    await new Promise((r) => setTimeout(r, 500));
    expect(watcher.events).toEqual([]);
    await watcher.close();
    const still = await gql(gateway, h(owner.key), `query($id: ID!) { mediaItem(id: $id) { title } }`, { id: item.id });
    expect(still.body.data.mediaItem.title).toBe('mine');
  });

  it('deletes the record at once and the stored objects through storage-delete', async () => {
    const { item } = await upload(gateway, owner.key, await makeJpeg(), { name: 'gone.jpg' });
    const uuid = item.uuid as string;
    const driver = gateway.runtime.services.storage.driver;
    const original = `media/${owner.accountId}/${uuid}/original`;
    const thumbnail = `media/${owner.accountId}/${uuid}/thumbnail.webp`;
    await waitUntil(() => driver.head(thumbnail), 20_000, 'thumbnail');
    const events = await subscribeMedia(owner.key);
    const del = await gql(gateway, h(owner.key), `mutation($id: ID!) { deleteMediaItem(id: $id) }`, { id: uuid });
    expect(del.body.data.deleteMediaItem).toBe(item.id);
    const deleted: any = await events.waitForItem('DELETED', uuid);
    expect(deleted.mediaItem).toBeNull();
    await events.close();
    const q = await gql(gateway, h(owner.key), `query($id: ID!) { mediaItem(id: $id) { id } }`, { id: uuid });
    expect(q.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await fetch(`${gateway.url}/media/${uuid}`, { headers: h(owner.key) })).status).toBe(404);
    await waitUntil(async () => !(await driver.head(original)) && !(await driver.head(thumbnail)), 20_000, 'objects deleted');
  });
});

describe('upload limit', () => {
  let small: TestGateway;
  beforeAll(async () => {
    small = await startTestGateway({ mode: 'serve', env: { MAX_UPLOAD_BYTES: '100000' } });
  });
  afterAll(() => small?.close());

  it('refuses an upload over MAX_UPLOAD_BYTES with LIMIT_EXCEEDED and leaves no object', async () => {
    const { key, accountId } = await small.keyFor('big');
    const res = await upload(small, key, makeWav(100_000), { name: 'big.wav' });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    const rows = await small.runtime.services.database.sql`select count(*)::int as n from media_items`;
    expect(rows[0].n).toBe(0);
    const fs = await import('node:fs');
    const path = await import('node:path');
    const mediaDir = path.join(small.config.dataDir, 'objects', 'media', accountId);
    const leftovers = fs.existsSync(mediaDir) ? fs.readdirSync(mediaDir, { recursive: true }).filter((f) => String(f).endsWith('original')) : [];
    expect(leftovers).toEqual([]);
    const ok = await upload(small, key, makeWav(1000), { name: 'small.wav' });
    expect(ok.body.errors).toBeUndefined();
    expect(await small.runtime.services.storage.driver.head(`media/${accountId}/${ok.item.uuid}/original`)).not.toBeNull();
  });
});
