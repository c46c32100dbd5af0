// One job model: FetchJob, DownloadTask and a file's processing all answer as
// `Job` — job(id), jobs(kinds, statuses), subscription job(id) and jobEvents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { subscribeAny } from '../support/subscribers.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makePng, makeWav, sendBytes, startRoutes } from '../fetch-jobs/fixtures.js';

let gw: TestGateway;
let media: TestServer;
let key: string;
const wav = makeWav(150_000);

const JOB = '__typename id kind status stage bytesReceived bytesTotal attempt error { code message } createdAt updatedAt';
const h = () => ({ 'x-api-key': key });

beforeAll(async () => {
  media = await startRoutes({
    '/clip.wav': (req, res) => sendBytes(req, res, wav, 'audio/wav', { chunk: 32 * 1024, delayMs: 40 }),
    '/gone.wav': (_req, res) => res.writeHead(404).end(),
  });
  gw = await startTestGateway({ env: { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', ALLOW_DIRECT_EGRESS: 'true', STORAGE_URL: `file://${tempDir('mg-jobs-objects-')}` } });
  ({ key } = await gw.keyFor('jobs-owner'));
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await closeAll();
});

async function until(id: string, done: (j: any) => boolean) {
  for (let i = 0; i < 300; i++) {
    const j = (await gql(gw, h(), `query($id: ID!) { job(id: $id) { ${JOB} } }`, { id })).body.data?.job;
    if (j && done(j)) return j;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} never got there`);
}

describe('the Job interface', () => {
  let fetchId: string;
  let downloadId: string;
  let failedId: string;
  let processingId: string;

  it('answers every kind through job(id) with the same fields', async () => {
    const events = subscribeAny(gw.url, key, `subscription { jobEvents { seq type kind jobId status stage bytesReceived job { ${JOB} } } }`);
    await new Promise((r) => setTimeout(r, 300));
    fetchId = (await gql(gw, h(), `mutation($u: String!) { createFetchJob(input: { url: $u }) { id } }`, { u: `${media.origin}/clip.wav` })).body.data.createFetchJob.id;
    downloadId = (await gql(gw, h(), `mutation($u: String!) { createDownloadTask(input: { url: $u }) { id } }`, { u: `${media.origin}/clip.wav` })).body.data.createDownloadTask.id;
    failedId = (await gql(gw, h(), `mutation($u: String!) { createFetchJob(input: { url: $u }) { id } }`, { u: `${media.origin}/gone.wav` })).body.data.createFetchJob.id;
    const png = await makePng();
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!) { uploadFile(input: { entityType: SHIPMENT_ITEM, entityId: "1RT823V93|SKU-1|DAMAGED|51076f94-b531-483c-884b-35ad67afa113", file: $f }) { processing { id } } }', variables: { f: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'p.png');
    const up = await (await fetch(gw.graphqlUrl, { method: 'POST', headers: h(), body: form })).json();
    processingId = up.data.uploadFile.processing.id;

    const fetched = await until(fetchId, (j) => j.status === 'SUCCESS');
    expect(fetched).toMatchObject({ __typename: 'FetchJob', kind: 'FETCH', stage: 'DONE', bytesReceived: wav.length, attempt: 1, error: null });
    const downloaded = await until(downloadId, (j) => j.status === 'SUCCESS');
    expect(downloaded).toMatchObject({ __typename: 'DownloadTask', kind: 'DOWNLOAD', stage: 'DONE', bytesReceived: wav.length });
    const failed = await until(failedId, (j) => j.status === 'FAILED');
    expect(failed).toMatchObject({ kind: 'FETCH', error: { code: 'HTTP_404' } });
    const processed = await until(processingId, (j) => j.status === 'SUCCESS');
    expect(processed).toMatchObject({ __typename: 'FileProcessing', kind: 'FILE_PROCESSING', stage: 'DONE' });

    // jobEvents saw every kind's state changes, with RUNNING before SUCCESS for each, in commit order.
    await new Promise((r) => setTimeout(r, 300));
    const states = (id: string) => events.seen.filter((e) => e.jobId === id && e.type !== 'PROGRESS').map((e) => e.status);
    expect(states(fetchId)).toEqual(['PENDING', 'RUNNING', 'RUNNING', 'SUCCESS']);
    expect(states(downloadId).at(-1)).toBe('SUCCESS');
    expect(states(processingId)).toEqual(['PENDING', 'RUNNING', 'SUCCESS']);
    const seqs = events.seen.filter((e) => e.seq !== null).map((e) => Number(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(events.seen.some((e) => e.type === 'PROGRESS' && e.kind === 'FETCH' && e.bytesReceived > 0)).toBe(true);
    await events.close();
  });

  it('lists jobs of every kind newest first, filtered by kind and status, paged by cursor', async () => {
    const all = (await gql(gw, h(), `{ jobs(first: 10) { nodes { id kind status } pageInfo { hasNextPage } } }`)).body.data.jobs;
    expect(all.nodes.map((n: any) => n.id)).toEqual([processingId, failedId, downloadId, fetchId]);
    const failed = (await gql(gw, h(), `{ jobs(statuses: [FAILED]) { nodes { id } } }`)).body.data.jobs;
    expect(failed.nodes.map((n: any) => n.id)).toEqual([failedId]);
    const fetches = (await gql(gw, h(), `{ jobs(kinds: [FETCH], statuses: [SUCCESS, FAILED]) { nodes { id } } }`)).body.data.jobs;
    expect(fetches.nodes.map((n: any) => n.id)).toEqual([failedId, fetchId]);
    const page1 = (await gql(gw, h(), `{ jobs(first: 3) { nodes { id } pageInfo { hasNextPage endCursor } } }`)).body.data.jobs;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await gql(gw, h(), `query($a: String) { jobs(first: 3, after: $a) { nodes { id } pageInfo { hasNextPage } } }`, { a: page1.pageInfo.endCursor })).body.data.jobs;
    expect(page2.nodes.map((n: any) => n.id)).toEqual([fetchId]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
  });

  it('subscription job(id) pushes the job now and completes at its end; other accounts get NOT_FOUND', async () => {
    const mine = subscribeAny(gw.url, key, `subscription($id: ID!) { job(id: $id) { ${JOB} } }`, { id: fetchId });
    await mine.done;
    expect(mine.seen).toEqual([expect.objectContaining({ id: fetchId, status: 'SUCCESS' })]);
    const { key: other } = await gw.keyFor('jobs-other');
    const theirs = subscribeAny(gw.url, other, `subscription($id: ID!) { job(id: $id) { id } }`, { id: fetchId });
    await theirs.done;
    expect(JSON.stringify(theirs.errors)).toContain('NOT_FOUND');
    const query = await gql(gw, { 'x-api-key': other }, `query($id: ID!) { job(id: $id) { id } }`, { id: fetchId });
    expect(query.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const list = await gql(gw, { 'x-api-key': other }, `{ jobs { nodes { id } } }`);
    expect(list.body.data.jobs.nodes).toEqual([]);
  });
});
