// Fetch jobs end to end: real gateway, real worker, local fixture servers.
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makePng, makeWav, sendBytes, sendHtml, startRoutes } from './fixtures.js';
import { createJob, expectFailed, getJob, headers, storedObjects, waitForJob } from './helpers.js';

let gw: TestGateway;
let server: TestServer;
let alice: string;
let bob: string;
let png: Buffer;
const wav = makeWav(40_000);
const big = makeWav(600_000); // 1.2 MB, trickled for the cancel test
let dropped = 0;
const slowResponses: http.ServerResponse[] = [];
const hooks: any[] = [];

beforeAll(async () => {
  png = await makePng(80, 60);
  server = await startRoutes({
    '/pic': (req, res) => sendBytes(req, res, png, 'application/octet-stream'),
    '/sound.wav': (req, res) => sendBytes(req, res, wav, 'audio/wav'),
    '/notes.txt': (req, res) => sendBytes(req, res, Buffer.from('just some text\n'.repeat(100)), 'image/png'),
    '/flaky.wav': (req, res) => {
      // The first full download dies mid-body; later ones succeed.
      if (req.headers.range || dropped++ > 0) return sendBytes(req, res, wav, 'audio/wav');
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': wav.length });
      res.write(wav.subarray(0, 20_000), () => res.socket?.destroy());
    },
    '/page': (_req, res) => sendHtml(res, `<html><head><title>Page</title><meta property="og:title" content="Greeting &amp; more"><meta property="og:video" content="/sound.wav"></head></html>`),
    '/hook': (req, res) => {
      hooks.push(JSON.parse(server.seen[server.seen.length - 1].body));
      res.writeHead(204).end();
    },
    '/slow.wav': (req, res) => {
      if (!req.headers.range) slowResponses.push(res);
      sendBytes(req, res, big, 'audio/wav', { chunk: 8192, delayMs: 40 });
    },
  });
  gw = await startTestGateway({ env: { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', FETCH_RETRY_DELAY_SECONDS: '1' } });
  alice = (await gw.keyFor('alice')).key;
  bob = (await gw.keyFor('bob')).key;
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await closeAll();
});

describe('inspectUrl', () => {
  it('answers metadata without creating a job or storing anything', async () => {
    const r = await gql(gw, headers(alice), `query($url: String!, $m: [String!]) { inspectUrl(url: $url, expectedMimeTypes: $m) { extractor mimeType size fileName width height verdict verdictReason } }`, { url: `${server.origin}/pic` });
    expect(r.body.data?.inspectUrl).toEqual({ extractor: 'direct', mimeType: 'image/png', size: png.length, fileName: 'pic.png', width: 80, height: 60, verdict: 'ALLOWED', verdictReason: null });
    const refused = await gql(gw, headers(alice), `query($url: String!, $m: [String!]) { inspectUrl(url: $url, expectedMimeTypes: $m) { verdict verdictReason } }`, { url: `${server.origin}/sound.wav`, m: ['image/*'] });
    expect(refused.body.data?.inspectUrl.verdict).toBe('MIME_NOT_ACCEPTED');
    const list = await gql(gw, headers(alice), '{ fetchJobs { edges { node { id } } } }');
    expect(list.body.data?.fetchJobs.edges).toEqual([]);
    const [{ count }] = await gw.runtime.database.sql`select count(*)::int as count from fetch_jobs`;
    expect(count).toBe(0);
    expect(storedObjects(gw)).toEqual([]);
  });
});

describe('createFetchJob', () => {
  it('runs to SUCCESS with a MediaItem and a 302 download of the same bytes', async () => {
    const { job } = await createJob(gw, alice, { url: `${server.origin}/sound.wav`, fileName: 'greeting.wav' });
    expect(job).toMatchObject({ status: 'PENDING', bytesReceived: 0, mediaItem: null, downloadUrl: null });
    const done = await waitForJob(gw, alice, job.id);
    expect(done).toMatchObject({ status: 'SUCCESS', error: null, bytesReceived: wav.length, bytesTotal: wav.length, attempts: 1 });
    expect(done.metadata).toMatchObject({ extractor: 'direct', mimeType: 'audio/wav', size: wav.length });
    expect(done.mediaItem).toMatchObject({ mimeType: 'audio/wav', mediaSize: wav.length, originalFileName: 'greeting.wav' });
    expect(done.downloadUrl).toBe(`${gw.config.publicUrl}/fetch/${done.uuid}/greeting.wav`);

    const redirect = await fetch(done.downloadUrl, { headers: headers(alice), redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const bytes = Buffer.from(await (await fetch(redirect.headers.get('location')!)).arrayBuffer());
    expect(bytes.equals(wav)).toBe(true);

    // Another account: the same 404 as an unknown id, everywhere.
    expect((await fetch(done.downloadUrl, { headers: headers(bob), redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${gw.url}/fetch/00000000-0000-0000-0000-000000000000/x`, { headers: headers(alice), redirect: 'manual' })).status).toBe(404);
    expect((await fetch(done.downloadUrl, { redirect: 'manual' })).status).toBe(404);
    const other = await gql(gw, headers(bob), `query($id: ID!) { fetchJob(id: $id) { id } }`, { id: done.id });
    expect(other.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const node = await gql(gw, headers(bob), `query($id: ID!) { node(id: $id) { id } }`, { id: done.id });
    expect(node.body.data?.node).toBeNull();
  });

  it('fetches the media a page points at, keeping the page metadata', async () => {
    const { job } = await createJob(gw, alice, { url: `${server.origin}/page` });
    const done = await waitForJob(gw, alice, job.id);
    expect(done).toMatchObject({ status: 'SUCCESS', metadata: { extractor: 'html', title: 'Greeting & more', mimeType: 'audio/wav' }, mediaItem: { mediaSize: wav.length, originalFileName: 'sound.wav' } });
  });

  it('answers 409 on the download route while the job is not SUCCESS', async () => {
    const { job } = await createJob(gw, alice, { url: `${server.origin}/missing` });
    const done = await waitForJob(gw, alice, job.id);
    expect((await fetch(`${gw.url}/fetch/${done.uuid}/file`, { headers: headers(alice), redirect: 'manual' })).status).toBe(409);
  });

  it('fails with readable reasons: 404, wrong MIME (WAV and text vs image/*)', async () => {
    const missing = await expectFailed(gw, alice, { url: `${server.origin}/missing`, webhookUrl: `${server.origin}/hook` }, 'HTTP_404');
    await expect.poll(() => hooks.length, { timeout: 10_000 }).toBe(1);
    expect(hooks[0]).toMatchObject({ type: 'fetch_job.failed', data: { id: missing.uuid, status: 'FAILED', error: { code: 'HTTP_404' } } });
    await expectFailed(gw, alice, { url: `${server.origin}/sound.wav`, expectedMimeTypes: ['image/*'] }, 'MIME_NOT_ACCEPTED');
    await expectFailed(gw, alice, { url: `${server.origin}/notes.txt`, expectedMimeTypes: ['image/*'] }, 'MIME_NOT_ACCEPTED');
    expect(storedObjects(gw).filter((k) => k.startsWith('data/fetch/'))).toHaveLength(2); // only the successful jobs'
  });

  it('retries a dropped connection and succeeds on a later attempt', async () => {
    const { job } = await createJob(gw, alice, { url: `${server.origin}/flaky.wav` });
    const done = await waitForJob(gw, alice, job.id);
    expect(done).toMatchObject({ status: 'SUCCESS', bytesReceived: wav.length });
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    const items = await gw.runtime.database.sql`select count(*)::int as count from media_items where id = ${done.mediaItem.uuid}`;
    expect(items[0].count).toBe(1);
  });

  it('cancels a running job: FAILED/CANCELLED, transfer stopped, no object left', async () => {
    const before = storedObjects(gw).length;
    const { job } = await createJob(gw, alice, { url: `${server.origin}/slow.wav` });
    await waitForJob(gw, alice, job.id, (j) => j.status === 'RUNNING' && j.bytesReceived > 0);
    const r = await gql(gw, headers(alice), `mutation($id: ID!) { cancelFetchJob(id: $id) { status error { code } finishedAt } }`, { id: job.id });
    expect(r.body.data?.cancelFetchJob).toMatchObject({ status: 'FAILED', error: { code: 'CANCELLED' } });
    const res = slowResponses[slowResponses.length - 1];
    await expect.poll(() => res.destroyed || res.writableEnded, { timeout: 5000 }).toBe(true);
    await expect.poll(() => storedObjects(gw).length, { timeout: 5000 }).toBe(before);
    const after = await getJob(gw, alice, job.id);
    expect(after).toMatchObject({ status: 'FAILED', error: { code: 'CANCELLED' }, mediaItem: null });
    const again = await gql(gw, headers(alice), `mutation($id: ID!) { cancelFetchJob(id: $id) { id } }`, { id: job.id });
    expect(again.body.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('idempotency: same key and input → same job; other input → CONFLICT', async () => {
    const input = { url: `${server.origin}/pic`, idempotencyKey: 'order-42', expectedMimeTypes: ['image/*'] };
    const first = await createJob(gw, alice, input);
    const second = await createJob(gw, alice, input);
    expect(second.job.id).toBe(first.job.id);
    const conflict = await createJob(gw, alice, { ...input, fileName: 'other.png' });
    expect(conflict.body.errors?.[0].extensions?.code).toBe('CONFLICT');
    // Keys are per account.
    const bobs = await createJob(gw, bob, input);
    expect(bobs.job.id).not.toBe(first.job.id);
    await waitForJob(gw, alice, first.job.id);
    await waitForJob(gw, bob, bobs.job.id);
  });

  it('validates input', async () => {
    const bad = await createJob(gw, alice, { url: 'ftp://example.com/x' });
    expect(bad.body.errors?.[0].extensions?.code).toBe('VALIDATION');
    const pattern = await createJob(gw, alice, { url: `${server.origin}/pic`, expectedMimeTypes: ['not a type'] });
    expect(pattern.body.errors?.[0].extensions?.code).toBe('VALIDATION');
  });

  it('lists jobs newest first with an opaque cursor, filtered by status, per account', async () => {
    const page1 = await gql(gw, headers(alice), '{ fetchJobs(first: 2) { edges { node { uuid createdAt } } pageInfo { hasNextPage endCursor } } }');
    const { edges, pageInfo } = page1.body.data!.fetchJobs;
    expect(edges).toHaveLength(2);
    expect(pageInfo.hasNextPage).toBe(true);
    const page2 = await gql(gw, headers(alice), 'query($after: String) { fetchJobs(first: 100, after: $after) { edges { node { uuid createdAt } } } }', { after: pageInfo.endCursor });
    const all = [...edges, ...page2.body.data!.fetchJobs.edges].map((e: any) => e.node);
    expect(new Set(all.map((n: any) => n.uuid)).size).toBe(all.length);
    expect([...all].sort((a: any, b: any) => b.createdAt.localeCompare(a.createdAt))).toEqual(all);
    const failed = await gql(gw, headers(alice), '{ fetchJobs(status: FAILED, first: 100) { edges { node { status } } } }');
    expect(failed.body.data!.fetchJobs.edges.every((e: any) => e.node.status === 'FAILED')).toBe(true);
    const bobs = await gql(gw, headers(bob), '{ fetchJobs(first: 100) { edges { node { uuid } } } }');
    expect(bobs.body.data!.fetchJobs.edges).toHaveLength(1);
  });
});
