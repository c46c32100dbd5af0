// Download tasks end to end against a raw download of the same URL to the same
// destination in the same run: 500 MB into local disk (vs safeFetch piped to a
// file on that disk) and into S3 (s3rver on loopback, vs safeFetch piped into
// lib-storage's multipart Upload to the same bucket); then 100 concurrent 1 MB
// tasks end to end against 100 concurrent raw downloads to disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { safeFetch } from '../src/platform/net/index.js';
import { startS3 } from '../test/support/s3.js';
import { mediaServer } from './fetch-ingest.js';
import { measurePeakRss, startBenchGateway } from './support.js';

const MB = 1024 * 1024;
const r2 = (n: number) => Math.round(n * 100) / 100;

export interface DownloadTaskRow {
  figure: string;
  oursSeconds: number;
  baselineSeconds: number;
  ratio: number;
  oursPeakRssMb: number;
  baselinePeakRssMb: number;
}

export async function benchDownloadTasks(sizeMb = 500, concurrent = 100): Promise<DownloadTaskRow[]> {
  const total = sizeMb * MB;
  const [source, s3] = await Promise.all([mediaServer(), startS3()]);
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-dl-'));
  fs.chmodSync(outDir, 0o777);
  const gw = await startBenchGateway('all', {
    FETCH_ALLOW_NETWORKS: '127.0.0.0/8',
    MAX_FETCH_BYTES: String(total * 2),
    ALLOW_DIRECT_EGRESS: 'true',
    ALLOW_FILE_DESTINATIONS: 'true',
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: 'us-east-1',
    S3_FORCE_PATH_STYLE: 'true',
  });
  const { downloadTasks, accounts } = gw.runtime.services;
  const { account } = await accounts.ensureAccount('bench');
  await downloadTasks.destinations.add(account.id, { url: `file://${outDir}/` });
  await downloadTasks.destinations.add(account.id, { url: `s3://${s3.bucket}/bench/` });
  const s3Client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials });
  const policy = { allowNetworks: ['127.0.0.0/8'] };

  const rawToFile = async (bytes: number, name: string) => {
    const res = await safeFetch(source.url(bytes), { policy });
    res.assertOk();
    await pipeline(res.body, fs.createWriteStream(path.join(outDir, name)));
  };
  const rawToS3 = async (bytes: number, name: string) => {
    const res = await safeFetch(source.url(bytes), { policy });
    res.assertOk();
    await new Upload({ client: s3Client, params: { Bucket: s3.bucket, Key: `raw/${name}`, Body: res.body }, partSize: 8 * MB, queueSize: 4 }).done();
  };
  // One poll for however many tasks, so the bench's own queries do not compete with the workers.
  const tasks = async (requests: { bytes: number; storageUrl: string; name: string }[]) => {
    const created = await Promise.all(requests.map((r) => downloadTasks.create(account, { url: source.url(r.bytes), storage: { url: r.storageUrl, objectName: r.name } })));
    for (;;) {
      const rows = await downloadTasks.getMany(account.id, created.map((c) => c.id));
      const failed = rows.find((r) => r?.status === 'FAILED');
      if (failed) throw new Error(`download task failed: ${failed.errorCode} ${failed.errorMessage}`);
      if (rows.every((r) => r?.status === 'SUCCESS')) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const task = (bytes: number, storageUrl: string, name: string) => tasks([{ bytes, storageUrl, name }]);
  const row = (figure: string, ours: { seconds: number; peakDeltaMb: number }, base: { seconds: number; peakDeltaMb: number }): DownloadTaskRow => ({
    figure,
    oursSeconds: r2(ours.seconds),
    baselineSeconds: r2(base.seconds),
    ratio: r2(ours.seconds / base.seconds),
    oursPeakRssMb: r2(ours.peakDeltaMb),
    baselinePeakRssMb: r2(base.peakDeltaMb),
  });
  try {
    // Warm every path first so neither side pays module loading or pool start-up.
    await Promise.all([rawToFile(4 * MB, 'warm'), rawToS3(4 * MB, 'warm'), tasks([{ bytes: 4 * MB, storageUrl: `file://${outDir}/`, name: 'warm-task' }, { bytes: 4 * MB, storageUrl: `s3://${s3.bucket}/bench/`, name: 'warm-task' }])]);
    const rows: DownloadTaskRow[] = [];
    rows.push(row(`${sizeMb} MB into local disk`, await measurePeakRss(() => task(total, `file://${outDir}/`, 'big')), await measurePeakRss(() => rawToFile(total, 'big-raw'))));
    fs.rmSync(path.join(outDir, 'big'), { force: true });
    rows.push(row(`${sizeMb} MB into S3 (s3rver)`, await measurePeakRss(() => task(total, `s3://${s3.bucket}/bench/`, 'big')), await measurePeakRss(() => rawToS3(total, 'big'))));
    const indexes = Array.from({ length: concurrent }, (_, i) => i);
    rows.push(
      row(
        `${concurrent} × 1 MB at once into local disk (WORKER_CONCURRENCY ${gw.runtime.services.config.workerConcurrency})`,
        await measurePeakRss(() => tasks(indexes.map((i) => ({ bytes: MB, storageUrl: `file://${outDir}/`, name: `small-${i}` })))),
        await measurePeakRss(() => Promise.all(indexes.map((i) => rawToFile(MB, `small-raw-${i}`))).then(() => {})),
      ),
    );
    return rows;
  } finally {
    await gw.close();
    await Promise.all([source.close(), s3.close()]);
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

export function printDownloadTasks(rows: DownloadTaskRow[]): void {
  console.log('\ndownload tasks end to end vs a raw download of the same URL to the same destination:');
  console.table(rows);
}
