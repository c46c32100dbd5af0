// A worker SIGKILLed in the middle of a download task's S3 multipart upload
// into the caller's destination: another worker resumes the task, which ends
// SUCCESS exactly once with one callback (at least once), and the dead
// worker's open upload is aborted so no parts stay behind. s3rver stands in
// for S3 (see test/fetch-jobs/crash-s3.test.ts for what it cannot show).
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs, type TsChild } from '../support/child-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { filesUnder } from '../support/leftovers.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makeWav, sendBytes, startRoutes } from '../fetch-jobs/fixtures.js';
import { startReceiver, until, type Receiver } from '../webhooks/receiver.js';
import { allow, createTask, waitForTask } from './helpers.js';

const ENV = { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', ALLOW_DIRECT_EGRESS: 'true', FETCH_RETRY_DELAY_SECONDS: '1', JOB_HEARTBEAT_SECONDS: '1', JOB_STALE_SECONDS: '3' };
const media = makeWav(10_000_000);
const PARTIAL = 12 * 1024 * 1024;
const MiB = 1024 * 1024;

let s3: TestS3;
let gw: TestGateway;
let server: TestServer;
let receiver: Receiver;
let key: string;
const stalled: http.ServerResponse[] = [];
let downloads = 0;
const children: TsChild[] = [];

const s3Env = () => ({ S3_ENDPOINT: s3.endpoint, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true' });
const openUploads = () => gw.runtime.database.sql<{ upload_id: string; holder_id: string | null }[]>`select upload_id, holder_id from storage_multipart_uploads`;

async function startWorker(): Promise<TsChild> {
  const child = spawnTs('test/support/child-worker.ts', { DATABASE_URL: gw.databaseUrl, DATA_DIR: gw.config.dataDir, STOP_TIMEOUT_MS: '200', ...ENV, ...s3Env() });
  children.push(child);
  await child.waitFor((m) => m.event === 'ready', 30_000);
  return child;
}

beforeAll(async () => {
  s3 = await startS3('dl-crash', { implementAbort: true });
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  receiver = await startReceiver();
  server = await startRoutes({
    '/large.wav': (req, res) => {
      // The first download stalls after 12 MiB: one 8 MiB part is stored and the upload stays open.
      if (req.headers.range || downloads++ > 0) return sendBytes(req, res, media, 'audio/wav');
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': media.length });
      res.write(media.subarray(0, PARTIAL));
      stalled.push(res);
    },
  });
  gw = await startTestGateway({ mode: 'serve', env: { ...ENV, ...s3Env() } });
  ({ key } = await gw.keyFor('dl-crash'));
  await allow(gw, key, `s3://${s3.bucket}/exports/`);
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
  for (const res of stalled) res.destroy();
  await gw?.close();
  await receiver?.close();
  await s3?.close();
  await closeAll();
});

describe('a worker killed during a download task', { timeout: 120_000 }, () => {
  it('is resumed elsewhere: SUCCESS once, one object, the callback sent, no parts left', async () => {
    const workers = [await startWorker(), await startWorker()];
    const { task } = await createTask(gw, key, { url: `${server.origin}/large.wav`, storage: { url: `s3://${s3.bucket}/exports/`, objectName: 'big' }, callbackUrl: receiver.url('/done') });
    const [upload] = await until(async () => {
      const rows = await openUploads();
      return rows.length === 1 && filesUnder(s3.uploadsDir).some((f) => f.size >= 8 * MiB) && rows;
    }, 20_000, 'an open multipart upload with a stored part');
    const doomed = workers.find((w) => w.messages.find((m) => m.event === 'ready')!.holder === upload!.holder_id)!;
    expect(doomed).toBeDefined();
    doomed.proc.kill('SIGKILL');
    await doomed.exited;

    const done = await waitForTask(gw, key, task.id, undefined, 30_000);
    expect(done).toMatchObject({ state: 'SUCCESS', attempt: 2, bytesReceived: media.length, result: { key: 'big.wav', size: media.length } });
    await until(async () => (await openUploads()).length === 0 && filesUnder(s3.uploadsDir).length === 0, 15_000, 'the orphaned upload to be aborted');
    expect(s3.aborted).toEqual([upload!.upload_id]);
    const callbacks = await until(() => receiver.requests('/done').length >= 1 && receiver.requests('/done'), 15_000, 'the callback');
    // At least once, and about the one success.
    expect(new Set(callbacks.map((c) => JSON.parse(c.body).data.state))).toEqual(new Set(['success']));
    const [{ count }] = await gw.runtime.database.sql<{ count: number }[]>`select count(*)::int as count from download_tasks where status = 'SUCCESS'`;
    expect(count).toBe(1);
  });
});
