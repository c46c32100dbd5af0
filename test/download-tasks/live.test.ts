// subscription downloadTask(id): PENDING, then IN_PROGRESS with growing bytes,
// then SUCCESS, in order. The gateway only serves; a worker runtime starts
// after the subscription, so PENDING is seen whatever the machine's speed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { subscribeAny } from '../support/subscribers.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makeWav, sendBytes, startRoutes } from '../fetch-jobs/fixtures.js';
import { createTask } from './helpers.js';

let gw: TestGateway;
let worker: TestGateway | undefined;
let media: TestServer;
const wav = makeWav(200_000);
const shared = { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', ALLOW_DIRECT_EGRESS: 'true', STORAGE_URL: `file://${tempDir('mg-dl-objects-')}`, SIGNING_SECRET: 'download-live-test-signing-secret' };

beforeAll(async () => {
  media = await startRoutes({ '/slow.wav': (req, res) => sendBytes(req, res, wav, 'audio/wav', { chunk: 32 * 1024, delayMs: 80 }) });
  gw = await startTestGateway({ mode: 'serve', env: shared });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await gw?.close();
  await closeAll();
});

describe('subscription downloadTask(id)', () => {
  it('sees PENDING, then IN_PROGRESS with growing bytes, then SUCCESS; another account sees nothing', async () => {
    const { key } = await gw.keyFor('dl-live');
    const { key: otherKey } = await gw.keyFor('dl-intruder');
    const { task } = await createTask(gw, key, { url: `${media.origin}/slow.wav` });
    const query = 'subscription($id: ID!) { downloadTask(id: $id) { state bytesReceived bytesTotal result { size key } } }';
    const mine = subscribeAny(gw.url, key, query, { id: task.id });
    const theirs = subscribeAny(gw.url, otherKey, query, { id: task.id });
    await expect.poll(() => mine.seen.length, { timeout: 5000 }).toBe(1);
    expect(mine.seen[0].state).toBe('PENDING');
    worker = await startTestGateway({ mode: 'work', databaseUrl: gw.databaseUrl, env: shared });
    await Promise.race([mine.done, new Promise((r) => setTimeout(r, 15_000))]);
    const states = mine.seen.map((s) => s.state);
    expect(mine.errors).toEqual([]);
    expect(states.at(-1)).toBe('SUCCESS');
    const order = ['PENDING', 'IN_PROGRESS', 'SUCCESS'];
    expect(states).toEqual([...states].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    const progress = mine.seen.filter((s) => s.state === 'IN_PROGRESS').map((s) => s.bytesReceived);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(mine.seen.at(-1)).toMatchObject({ bytesReceived: wav.length, result: { size: wav.length, key: `downloads/${(await gw.keyFor('dl-live')).accountId}/${task.uuid}/${task.uuid}.wav` } });
    await theirs.done;
    expect(theirs.seen).toEqual([]);
    expect(JSON.stringify(theirs.errors)).toContain('NOT_FOUND');
    await Promise.all([mine.close(), theirs.close()]);
  });
});
