// Fetch jobs whose `work` process is killed (SIGKILL) or stopped (SIGTERM)
// mid-download: real child processes sharing one database and one local store,
// a loopback media server whose first answer stalls half-way, and a webhook
// receiver counting deliveries. The job resumes on another worker within
// seconds, ends SUCCESS once with one media item and one webhook, and nothing
// half-written stays in the temp areas.
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowMs, spawnTs, type TsChild } from '../support/child-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { filesUnder, tempAreas } from '../support/leftovers.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { startReceiver, until, type Receiver } from '../webhooks/receiver.js';
import { makeWav, sendBytes, startRoutes } from './fixtures.js';
import { createJob, waitForJob } from './helpers.js';

const LIVENESS = { JOB_HEARTBEAT_SECONDS: '1', JOB_STALE_SECONDS: '3' };
const ENV = { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', FETCH_RETRY_DELAY_SECONDS: '1', ...LIVENESS };
/** 4 MB; the first download of each path sends 1 MiB and then stalls. */
const media = makeWav(2_000_000);
const PARTIAL = 1024 * 1024;
/** 40 MB, stalling after 32 MiB: enough dirty data that closing (fsync) a partial file takes a while. */
const bigMedia = makeWav(20_000_000);
const BIG_PARTIAL = 32 * 1024 * 1024;

let gw: TestGateway;
let server: TestServer;
let receiver: Receiver;
let key: string;
let accountId: string;
const stalled: http.ServerResponse[] = [];
const requestsPerPath = new Map<string, number>();
const children: TsChild[] = [];

async function startWorker(env: Record<string, string> = {}): Promise<TsChild> {
  // DATA_DIR shared with the gateway: the same local store and signing secret.
  const child = spawnTs('test/support/child-worker.ts', { DATABASE_URL: gw.databaseUrl, DATA_DIR: gw.config.dataDir, STOP_TIMEOUT_MS: '200', ...ENV, ...env });
  children.push(child);
  await child.waitFor((m) => m.event === 'ready', 30_000);
  return child;
}

const holderOf = (child: TsChild) => child.messages.find((m) => m.event === 'ready')!.holder as string;
const tempFiles = () => tempAreas(gw.config.dataDir).flatMap((dir) => filesUnder(dir));
const tempBytes = () => tempFiles().reduce((sum, f) => sum + f.size, 0);
/** Temp files of one holder that have at least `bytes` in them. */
const partialsOf = (holder: string, bytes: number) => tempFiles().filter((f) => f.file.startsWith(`${holder}~`) && f.size >= bytes);

async function queueJobOf(fetchJobId: string): Promise<{ id: string; state: string; retry_count: number }> {
  const [row] = await gw.runtime.database.sql<{ id: string; state: string; retry_count: number }[]>`
    select id, state, retry_count from pgboss.job where name = 'fetch-job' and data->>'fetchJobId' = ${fetchJobId}`;
  return row!;
}

async function leaseHolderOf(queueJobId: string): Promise<string | undefined> {
  const [row] = await gw.runtime.database.sql<{ holder_id: string }[]>`select holder_id from job_leases where job_id = ${queueJobId}`;
  return row?.holder_id;
}

beforeAll(async () => {
  server = await startRoutes(
    Object.fromEntries(
      [1, 2, 3, 4, 5].map((n) => [
        `/big/${n}.wav`,
        (req: http.IncomingMessage, res: http.ServerResponse) => {
          const [bytes, partial] = n === 1 ? [media, PARTIAL] : [bigMedia, BIG_PARTIAL];
          // Ranged probes are answered; the first whole download stalls.
          if (req.headers.range) return sendBytes(req, res, bytes, 'audio/wav');
          const seen = (requestsPerPath.get(req.url!) ?? 0) + 1;
          requestsPerPath.set(req.url!, seen);
          if (seen > 1) return sendBytes(req, res, bytes, 'audio/wav');
          res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': bytes.length });
          res.write(bytes.subarray(0, partial));
          stalled.push(res);
        },
      ]),
    ),
  );
  receiver = await startReceiver();
  // This process only serves; the children work.
  gw = await startTestGateway({ mode: 'serve', env: ENV });
  ({ key, accountId } = await gw.keyFor('crash'));
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
  for (const res of stalled) res.destroy();
  await gw?.close();
  await receiver?.close();
  await closeAll();
});

// Child processes start slowly on a loaded machine: generous limits, no speed asserted but the 30 s bound.
describe('a worker killed mid-download', { timeout: 120_000 }, () => {
  let survivor: TsChild;

  it('resumes the job on another worker within seconds; SUCCESS once, one media item, one webhook, no temp bytes left', async () => {
    const workers = [await startWorker(), await startWorker()];
    const hook = receiver.url('/hook');
    const { job } = await createJob(gw, key, { url: `${server.origin}/big/1.wav`, webhookUrl: hook });
    const queueJob = await until(() => queueJobOf(job.uuid), 10_000, 'the queue job');

    // The download is half-way: its partial file is on disk in the worker's name.
    const holder = await until(() => leaseHolderOf(queueJob.id), 15_000, 'a worker to take the job');
    await until(() => partialsOf(holder, PARTIAL).length === 1, 15_000, 'the partial download on disk');
    const doomed = workers.find((w) => holderOf(w) === holder)!;
    survivor = workers.find((w) => w !== doomed)!;

    const killed = nowMs();
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    // Running again on the survivor: before the fix, only after the queue's one-hour expiry.
    await until(async () => (await leaseHolderOf(queueJob.id)) === holderOf(survivor), 30_000, 'the job to run on the survivor');
    const recoveryMs = nowMs() - killed;
    console.log(`SIGKILL mid-download → job running on the other worker: ${recoveryMs.toFixed(0)} ms (heartbeat 1 s)`);
    expect(recoveryMs).toBeLessThan(30_000);

    const done = await waitForJob(gw, key, job.id, undefined, 30_000);
    expect(done).toMatchObject({ status: 'SUCCESS', attempts: 2, bytesReceived: media.length });
    expect(done.mediaItem).toMatchObject({ mediaSize: media.length, mimeType: 'audio/wav' });
    const items = await gw.runtime.database.sql`select id from media_items where account_id = ${accountId}`;
    expect(items).toHaveLength(1);
    // The hand-back used no retry.
    expect(await until(async () => {
      const row = await queueJobOf(job.uuid);
      return row.state === 'completed' && row;
    }, 10_000, 'the queue job to complete')).toMatchObject({ retry_count: 0 });

    // One webhook, delivered once.
    await until(async () => {
      const [d] = await gw.runtime.database.sql<{ status: string }[]>`select status from webhook_deliveries where account_id = ${accountId}`;
      return d?.status === 'DELIVERED';
    }, 20_000, 'the webhook delivery');
    const deliveries = receiver.requests('/hook');
    expect(deliveries).toHaveLength(1);
    expect(JSON.parse(deliveries[0]!.body)).toMatchObject({ type: 'fetch_job.completed', data: { id: job.uuid, status: 'SUCCESS' } });

    // The killed worker's 1 MiB partial is swept once it is known dead; nothing else is left.
    await until(() => tempBytes() === 0, 15_000, `temp areas to empty; left: ${JSON.stringify(tempFiles())}`);
  });

  it('hands 4 running downloads back on SIGTERM and removes their partial files before exiting', async () => {
    // Only `stopping` may take the jobs.
    await survivor.kill('SIGTERM');
    const stopping = await startWorker({ CONCURRENCY: '4' });
    const holder = holderOf(stopping);
    const jobs = [];
    for (const n of [2, 3, 4, 5]) jobs.push((await createJob(gw, key, { url: `${server.origin}/big/${n}.wav` })).job);
    await until(() => partialsOf(holder, BIG_PARTIAL).length === 4, 30_000, 'four partial downloads on disk');
    const successor = await startWorker({ CONCURRENCY: '4' });

    stopping.proc.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    // Gone with the process that wrote them: nobody had to sweep them (before the fix, 128 MiB stayed for good).
    expect(tempFiles().filter((f) => f.file.startsWith(`${holder}~`))).toEqual([]);

    for (const job of jobs) {
      const done = await waitForJob(gw, key, job.id, undefined, 30_000);
      expect(done).toMatchObject({ status: 'SUCCESS', attempts: 2, bytesReceived: bigMedia.length });
      expect((await queueJobOf(job.uuid)).retry_count).toBe(0);
    }
    const items = await gw.runtime.database.sql`select id from media_items where account_id = ${accountId}`;
    expect(items).toHaveLength(5);
    await until(() => tempBytes() === 0, 15_000, `temp areas to empty; left: ${JSON.stringify(tempFiles())}`);
    await successor.kill('SIGTERM');
  });
});
