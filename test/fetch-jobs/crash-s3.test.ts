// A worker killed in the middle of an S3 multipart upload: the upload it left
// open is aborted by another process once the dead one is noticed, so no
// parts stay behind, and the job still ends SUCCESS once.
//
// s3rver stands in for S3. It cannot abort a multipart upload itself (405) or
// list open ones (501), so startS3's implementAbort does what S3 does for
// AbortMultipartUpload: deletes the upload's parts from s3rver's disk. That
// shows the gateway finds the dead worker's upload without listing the bucket
// (from its own record) and asks S3 to abort exactly that one; it cannot show
// S3's own accounting of parts, nor an AbortIncompleteMultipartUpload rule.
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { spawnTs, type TsChild } from '../support/child-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { filesUnder } from '../support/leftovers.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { until } from '../webhooks/receiver.js';
import { makeWav, sendBytes, startRoutes } from './fixtures.js';
import { createJob, waitForJob } from './helpers.js';

const ENV = { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', FETCH_RETRY_DELAY_SECONDS: '1', JOB_HEARTBEAT_SECONDS: '1', JOB_STALE_SECONDS: '3' };
/** 20 MB: the first download stalls after 12 MiB, so one 8 MiB part is stored and the upload is open. */
const media = makeWav(10_000_000);
const PARTIAL = 12 * 1024 * 1024;
const MiB = 1024 * 1024;

let s3: TestS3;
let gw: TestGateway;
let server: TestServer;
let key: string;
let accountId: string;
const stalled: http.ServerResponse[] = [];
let downloads = 0;
const children: TsChild[] = [];

async function startWorker(): Promise<TsChild> {
  const child = spawnTs('test/support/child-worker.ts', { DATABASE_URL: gw.databaseUrl, DATA_DIR: gw.config.dataDir, STOP_TIMEOUT_MS: '200', ...ENV, ...s3Env() });
  children.push(child);
  await child.waitFor((m) => m.event === 'ready', 30_000);
  return child;
}

const s3Env = () => ({ STORAGE_URL: `s3://${s3.bucket}/crash`, S3_ENDPOINT: s3.endpoint, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true' });
const openUploads = () => gw.runtime.database.sql<{ upload_id: string; holder_id: string | null }[]>`select upload_id, holder_id from storage_multipart_uploads`;

beforeAll(async () => {
  s3 = await startS3('crash-test', { implementAbort: true });
  // The AWS SDK takes credentials from the environment, as in production; children inherit it.
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  server = await startRoutes({
    '/large.wav': (req, res) => {
      if (req.headers.range || downloads++ > 0) return sendBytes(req, res, media, 'audio/wav');
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': media.length });
      res.write(media.subarray(0, PARTIAL));
      stalled.push(res);
    },
  });
  gw = await startTestGateway({ mode: 'serve', env: { ...ENV, ...s3Env() } });
  ({ key, accountId } = await gw.keyFor('crash-s3'));
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
  for (const res of stalled) res.destroy();
  await gw?.close();
  await s3?.close();
  await closeAll();
});

describe('a worker killed during an S3 multipart upload', { timeout: 120_000 }, () => {
  it('has its open upload aborted by a surviving process; no parts stay', async () => {
    const workers = [await startWorker(), await startWorker()];
    const { job } = await createJob(gw, key, { url: `${server.origin}/large.wav` });
    // One part stored, the upload open and written down under the worker's name.
    const [upload] = await until(async () => {
      const rows = await openUploads();
      return rows.length === 1 && filesUnder(s3.uploadsDir).some((f) => f.size >= 8 * MiB) && rows;
    }, 20_000, 'an open multipart upload with a stored part');
    const doomed = workers.find((w) => w.messages.find((m) => m.event === 'ready')!.holder === upload!.holder_id)!;
    expect(doomed).toBeDefined();

    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const done = await waitForJob(gw, key, job.id, undefined, 30_000);
    expect(done).toMatchObject({ status: 'SUCCESS', attempts: 2, bytesReceived: media.length });

    // The dead worker's upload, and only it, was aborted; s3rver holds no parts and the record is gone.
    await until(async () => (await openUploads()).length === 0 && filesUnder(s3.uploadsDir).length === 0, 15_000, 'the orphaned upload to be aborted');
    expect(s3.aborted).toEqual([upload!.upload_id]);
    expect(await gw.runtime.services.storage.driver.head(`fetch/${accountId}/${job.uuid}/original`)).toMatchObject({ size: media.length });
  });

  it('writes down an upload only while it is open: a failed put aborts and crosses it out', async () => {
    const driver = gw.runtime.services.storage.driver;
    // Over one part and over the limit: the put fails after starting a multipart upload.
    const body = Readable.from((function* () {
      for (let i = 0; i < 12; i++) yield Buffer.alloc(MiB, i);
    })());
    await expect(driver.put('tests/too-large', body, { maxBytes: 10 * MiB })).rejects.toThrow();
    expect(await openUploads()).toEqual([]);
    expect(filesUnder(s3.uploadsDir)).toEqual([]);
    expect(s3.aborted).toHaveLength(2);
  });
});
