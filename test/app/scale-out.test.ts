// Scale-out, proven with real processes: two `serve` and two `work` processes
// on one PostgreSQL and one store. 200 fetch jobs are created through gateway
// 1 while subscribers on both gateways watch; one worker is SIGKILLed in the
// middle and gateway 2's LISTEN connection is cut. Every job still ends
// SUCCESS exactly once, every subscriber sees every change in order with no
// gap in sequence numbers, nothing is duplicated or orphaned, and the account
// webhook endpoint receives every job's success.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs, type TsChild } from '../support/child-process.js';
import { gql, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { bytesUnder } from '../support/leftovers.js';
import { subscribeWs, type Received, type Subscriber } from '../support/subscribers.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makeWav, sendBytes, startRoutes } from '../fetch-jobs/fixtures.js';
import { startReceiver, until, type Receiver } from '../webhooks/receiver.js';

const JOBS = 200;
const media = makeWav(60_000);

let db: TestGateway; // owns the test database; serves nothing the test talks to
let media_server: TestServer;
let receiver: Receiver;
const children: TsChild[] = [];
const dataDir = tempDir('mg-scale-out-');
const env = () => ({
  DATABASE_URL: db.databaseUrl,
  DATA_DIR: dataDir,
  STORAGE_URL: `file://${path.join(dataDir, 'objects')}`,
  SIGNING_SECRET: 'scale-out-test-signing-secret',
  FETCH_ALLOW_NETWORKS: '127.0.0.0/8',
  FETCH_RETRY_DELAY_SECONDS: '1',
  WEBHOOK_RETRY_BASE_SECONDS: '1',
  JOB_HEARTBEAT_SECONDS: '1',
  JOB_STALE_SECONDS: '3',
  RATE_LIMIT_HTTP_PER_SECOND: '0',
  RATE_LIMIT_FETCH_PER_SECOND: '0',
  CONCURRENCY: '6',
});

function start(script: string): Promise<TsChild> {
  const child = spawnTs(script, env());
  children.push(child);
  return child.waitFor((m) => m.event === 'ready', 60_000).then(() => child);
}

beforeAll(async () => {
  media_server = await startRoutes({ '/clip.wav': (req, res) => sendBytes(req, res, media, 'audio/wav', { chunk: 16 * 1024, delayMs: 30 }) });
  receiver = await startReceiver();
  db = await startTestGateway({ mode: 'serve' });
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
  await db?.close();
  await receiver?.close();
  await closeAll();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('two gateways and two workers', { timeout: 240_000 }, () => {
  it('lose nothing, duplicate nothing and orphan nothing through a worker kill and a LISTEN cut', async () => {
    const [gateway1, gateway2] = await Promise.all([start('test/support/child-gateway.ts'), start('test/support/child-gateway.ts')]);
    const url1 = gateway1.messages[0]!.url as string;
    const url2 = gateway2.messages[0]!.url as string;
    const { key, accountId } = await db.keyFor('scale-out');
    const h = { 'x-api-key': key };
    const endpoint = await gql({ graphqlUrl: `${url1}/graphql` }, h, 'mutation($u: String!) { createWebhookEndpoint(input: { url: $u, eventTypes: ["fetch_job.success"] }) { id } }', { u: receiver.url('/jobs') });
    expect(endpoint.body.errors).toBeUndefined();

    // Subscribers on both gateways, each proven connected before any job exists.
    const subscribers: Subscriber[] = [subscribeWs(url1, key), subscribeWs(url2, key)];
    for (const [i, s] of subscribers.entries()) {
      for (let n = 0; !(await s.waitFor((e) => e.data.message === `hello-${i}-${n - 1}`, 200).then(() => true, () => false)); n++) {
        await gql({ graphqlUrl: `${[url1, url2][i]}/graphql` }, h, 'mutation($m: String) { pingEvents(message: $m) }', { m: `hello-${i}-${n}` });
        if (n > 50) throw new Error(`subscriber ${i} never connected`);
      }
    }
    const workers = [await start('test/support/child-worker.ts'), await start('test/support/child-worker.ts')];

    const created: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const r = await gql({ graphqlUrl: `${url1}/graphql` }, h, 'mutation($u: String!) { createFetchJob(input: { url: $u }) { uuid } }', { u: `${media_server.origin}/clip.wav?job=${i}` });
      created.push(r.body.data.createFetchJob.uuid);
    }
    const succeeded = async () => (await db.runtime.database.sql<{ n: number }[]>`select count(*)::int as n from fetch_jobs where status = 'SUCCESS'`)[0]!.n;
    await until(async () => (await succeeded()) >= JOBS / 4, 60_000, 'a quarter of the jobs done');
    // A worker dies mid-work, and gateway 2 loses its LISTEN connection.
    workers[0]!.proc.kill('SIGKILL');
    const cut = await db.runtime.database.sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${`media-gateway-listener-${gateway2.messages[0]!.pid}`}`;
    expect(cut.map((r) => r.ok)).toEqual([true]);

    await until(async () => (await succeeded()) === JOBS, 120_000, 'every job done');
    const [{ failed }] = await db.runtime.database.sql<{ failed: number }[]>`select count(*)::int as failed from fetch_jobs where status <> 'SUCCESS'`;
    expect(failed).toBe(0);

    // Exactly one media item per job, and only their objects on disk; nothing half-written.
    const [{ items, distinct }] = await db.runtime.database.sql<{ items: number; distinct: number }[]>`
      select count(*)::int as items, count(distinct m.id)::int as distinct from fetch_jobs j join media_items m on m.id = j.media_item_id`;
    expect({ items, distinct }).toEqual({ items: JOBS, distinct: JOBS });
    const [{ all }] = await db.runtime.database.sql<{ all: number }[]>`select count(*)::int as all from media_items where account_id = ${accountId}`;
    expect(all).toBe(JOBS);
    const stored = fs.readdirSync(path.join(dataDir, 'objects', 'data', 'fetch', accountId));
    expect(stored.sort()).toEqual([...created].sort());
    await until(() => bytesUnder(path.join(dataDir, 'objects', '.tmp')) === 0, 20_000, 'the dead worker\'s temp files to be swept');

    // Every subscriber saw every logged event of the account, in order, with no gap.
    const last = Number((await db.runtime.database.sql<{ last_seq: string }[]>`select last_seq from event_counters where account_id = ${accountId}`)[0]!.last_seq);
    for (const [i, s] of subscribers.entries()) {
      await until(() => s.events.some((e) => Number(e.seq) === last), 30_000, `subscriber ${i} to reach seq ${last}`);
      const seqs = s.events.filter((e) => e.seq != null).map((e) => Number(e.seq));
      const from = seqs[0]!;
      expect(seqs, `subscriber ${i}`).toEqual(Array.from({ length: last - from + 1 }, (_, k) => from + k));
      // Each job: created, running, success, in that order.
      const byJob = new Map<string, string[]>();
      for (const e of s.events.filter((e: Received) => e.topic === 'fetch-job' && e.seq != null)) byJob.set(e.id, [...(byJob.get(e.id) ?? []), String(e.data.status)]);
      expect(byJob.size).toBe(JOBS);
      for (const [job, states] of byJob) {
        expect(states[0], job).toBe('PENDING');
        expect(states.at(-1), job).toBe('SUCCESS');
        expect(states.filter((x) => x === 'SUCCESS'), job).toHaveLength(1);
        const order = ['PENDING', 'RUNNING', 'SUCCESS'];
        expect(states, job).toEqual([...states].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
      }
    }

    // The endpoint heard every job's success (at least once).
    await until(() => new Set(receiver.requests('/jobs').map((r) => JSON.parse(r.body).data.id)).size === JOBS, 60_000, 'a delivery per job');
    await Promise.all(subscribers.map((s) => s.close()));
  });
});
