// Live state over graphql-ws and the completion webhook. The gateway here only
// serves; a separate worker runtime (same process) starts after the subscription,
// so the job is seen PENDING first whatever the machine's speed.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makeWav, sendBytes, startRoutes } from './fixtures.js';
import { createJob, waitForJob } from './helpers.js';

let gw: TestGateway;
let worker: TestGateway | undefined;
let server: TestServer;
const wav = makeWav(200_000); // 400 KB trickled over ~1 s: several progress steps
const hooks: { path: string; body: any }[] = [];

function watch(key: string, id: string) {
  const seen: any[] = [];
  const errors: unknown[] = [];
  const client = createClient({ url: `${gw.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': key }, retryAttempts: 0 });
  const done = new Promise<void>((resolve) => {
    client.subscribe<{ fetchJob: any }>(
      { query: 'subscription($id: ID!) { fetchJob(id: $id) { status bytesReceived bytesTotal error { code } mediaItem { mediaSize } } }', variables: { id } },
      { next: (r) => (r.data ? seen.push(r.data.fetchJob) : errors.push(r.errors)), error: (e) => (errors.push(e), resolve()), complete: () => resolve() },
    );
  });
  return { seen, errors, done, close: () => client.dispose() };
}

beforeAll(async () => {
  server = await startRoutes({
    '/slow.wav': (req, res) => sendBytes(req, res, wav, 'audio/wav', { chunk: 32 * 1024, delayMs: 80 }),
    '/hook': (req, res) => {
      const body = server.seen[server.seen.length - 1]?.body;
      hooks.push({ path: req.url ?? '', body: body ? JSON.parse(body) : null });
      res.writeHead(204).end();
    },
  });
  const shared = { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', STORAGE_URL: `file://${tempDir('mg-fetch-objects-')}`, SIGNING_SECRET: 'fetch-live-test-signing-secret' };
  gw = await startTestGateway({ mode: 'serve', env: shared });
  (gw as any).shared = shared;
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await gw?.close();
  await closeAll();
});

describe('subscription fetchJob(id)', () => {
  it('sees PENDING, then RUNNING with growing bytes, then SUCCESS, in order; other accounts see nothing', async () => {
    const { key } = await gw.keyFor('live');
    const { key: otherKey } = await gw.keyFor('intruder');
    const { job } = await createJob(gw, key, { url: `${server.origin}/slow.wav`, webhookUrl: `${server.origin}/hook` });
    const mine = watch(key, job.id);
    const theirs = watch(otherKey, job.id);
    await expect.poll(() => mine.seen.length, { timeout: 5000 }).toBe(1);
    expect(mine.seen[0].status).toBe('PENDING');

    worker = await startTestGateway({ mode: 'work', databaseUrl: gw.databaseUrl, env: (gw as any).shared });
    await Promise.race([mine.done, new Promise((r) => setTimeout(r, 15_000))]);
    const statuses = mine.seen.map((s) => s.status);
    expect(mine.errors).toEqual([]);
    expect(statuses[0]).toBe('PENDING');
    expect(statuses[statuses.length - 1]).toBe('SUCCESS');
    const running = mine.seen.filter((s) => s.status === 'RUNNING');
    expect(running.length).toBeGreaterThanOrEqual(3);
    // In order: no state goes backwards, bytes only grow.
    expect(statuses).toEqual([...statuses].sort((a, b) => ['PENDING', 'RUNNING', 'SUCCESS'].indexOf(a) - ['PENDING', 'RUNNING', 'SUCCESS'].indexOf(b)));
    const bytes = running.map((s) => s.bytesReceived);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(bytes[bytes.length - 1]).toBeGreaterThan(0);
    expect(mine.seen[mine.seen.length - 1]).toMatchObject({ bytesReceived: wav.length, mediaItem: { mediaSize: wav.length } });

    await theirs.done;
    expect(theirs.seen).toEqual([]);
    expect(JSON.stringify(theirs.errors)).toContain('NOT_FOUND');
    await mine.close();
    await theirs.close();

    // The completion webhook carries the job as JSON.
    await expect.poll(() => hooks.length, { timeout: 10_000 }).toBe(1);
    expect(hooks[0].body).toMatchObject({ type: 'fetch_job.completed', data: { id: job.uuid, status: 'SUCCESS', url: `${server.origin}/slow.wav` } });
    const done = await waitForJob(gw, key, job.id);
    expect(done.status).toBe('SUCCESS');
  });
});
