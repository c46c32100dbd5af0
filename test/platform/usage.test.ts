// viewer.usage is exact after every kind of write, and the usage subscription
// follows along live.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { subscribeAny } from '../support/subscribers.js';
import { makeWav, upload } from '../media-items/helpers.js';

let gw: TestGateway;
let key: string;
const h = () => ({ 'x-api-key': key });
const USAGE = 'mediaItems files bytesStored downloadsToday jobsRunning jobsQueued';
const usage = async () => (await gql(gw, h(), `{ viewer { usage { ${USAGE} } } }`)).body.data.viewer.usage;

beforeAll(async () => {
  // Serve only: jobs stay queued, so the counts are the test's to decide.
  gw = await startTestGateway({ mode: 'serve' });
  ({ key } = await gw.keyFor('usage-owner'));
});
afterAll(() => gw?.close());

describe('usage', () => {
  it('counts media items, bytes, downloads and queued jobs exactly, and pushes each change live', async () => {
    expect(await usage()).toEqual({ mediaItems: 0, files: 0, bytesStored: 0, downloadsToday: 0, jobsRunning: 0, jobsQueued: 0 });
    const live = subscribeAny(gw.url, key, `subscription { usage { ${USAGE} } }`);
    await expect.poll(() => live.seen.length).toBe(1);

    const a = makeWav(1000);
    const b = makeWav(3000);
    const first = (await upload(gw, key, a, { name: 'a.wav' })).item;
    const second = (await upload(gw, key, b, { name: 'b.wav' })).item;
    expect(await usage()).toMatchObject({ mediaItems: 2, bytesStored: a.length + b.length });

    expect((await fetch(`${gw.url}/media/${first.uuid}`, { headers: h() }).then((r) => r.arrayBuffer())).byteLength).toBe(a.length);
    await fetch(`${gw.url}/media/${first.uuid}`, { headers: h() }).then((r) => r.arrayBuffer());
    // A ranged continuation is not a download.
    await fetch(`${gw.url}/media/${first.uuid}`, { headers: { ...h(), range: 'bytes=10-20' } }).then((r) => r.arrayBuffer());
    expect((await usage()).downloadsToday).toBe(2);

    await gql(gw, h(), 'mutation($id: ID!) { deleteMediaItem(id: $id) }', { id: second.id });
    const jobs = await Promise.all(['https://example.com/1.wav', 'https://example.com/2.wav'].map((u) => gql(gw, h(), 'mutation($u: String!) { createFetchJob(input: { url: $u }) { id } }', { u })));
    await gql(gw, h(), 'mutation($id: ID!) { cancelFetchJob(id: $id) { status } }', { id: jobs[0]!.body.data.createFetchJob.id });
    const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#08f' } }).png().toBuffer();
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!) { uploadFile(input: { entityType: SHIPMENT_ITEM, entityId: "1RT823V93|SKU-1|DAMAGED|51076f94-b531-483c-884b-35ad67afa113", file: $f }) { status } }', variables: { f: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'p.png');
    expect((await (await fetch(gw.graphqlUrl, { method: 'POST', headers: h(), body: form })).json()).data.uploadFile.status).toBe('UPLOADED');
    const now = await usage();
    expect(now).toEqual({ mediaItems: 1, files: 1, bytesStored: a.length + png.length, downloadsToday: 2, jobsRunning: 0, jobsQueued: 2 });
    await expect.poll(() => live.seen.at(-1), { timeout: 5000 }).toEqual(now);
    // Every pushed value differs from the one before it.
    expect(live.seen.every((u, i) => i === 0 || JSON.stringify(u) !== JSON.stringify(live.seen[i - 1]))).toBe(true);
    await live.close();

    const { key: other } = await gw.keyFor('usage-other');
    const theirs = await gql(gw, { 'x-api-key': other }, `{ viewer { usage { ${USAGE} } } }`);
    expect(theirs.body.data.viewer.usage).toEqual({ mediaItems: 0, files: 0, bytesStored: 0, downloadsToday: 0, jobsRunning: 0, jobsQueued: 0 });
  });
});
