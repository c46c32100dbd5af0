// Memory stays flat whatever the object size: 200 MB goes through put and get
// of every driver while RSS is sampled; the baseline pipes the same generator
// into a null sink. Note: s3rver and the GCS emulator run in this process, so
// their buffers count too (an upper bound on the driver's own footprint).
import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createStorageDriver, type StorageDriver } from '../src/platform/storage/index.js';
import { startGcsEmulator } from '../test/support/gcs-emulator.js';
import { startS3 } from '../test/support/s3.js';
import { measurePeakRss } from './support.js';

const CHUNK = 64 * 1024;
const MB = 1024 * 1024;

function generated(totalBytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= totalBytes) return void this.push(null);
      const size = Math.min(CHUNK, totalBytes - sent);
      sent += size;
      this.push(randomFillSync(Buffer.allocUnsafe(size)));
    },
  });
}

const nullSink = () => new Writable({ write: (_chunk, _enc, cb) => cb() });


async function roundTrip(driver: StorageDriver, totalBytes: number): Promise<void> {
  const key = `bench/${Date.now()}/object`;
  const put = await driver.put(key, generated(totalBytes), { contentType: 'application/octet-stream' });
  if (put.size !== totalBytes) throw new Error(`${driver.storeId}: stored ${put.size} of ${totalBytes} bytes`);
  const got = await driver.get(key);
  await pipeline(got.body, nullSink());
  await driver.delete(key);
}

export async function benchStorageMemory(totalBytes = 200 * MB): Promise<Record<string, unknown>> {
  const root = await mkdtemp(path.join(tmpdir(), 'bench-storage-'));
  const s3 = await startS3('bench');
  const gcs = await startGcsEmulator({ buckets: ['bench'] });
  const deps = {
    publicUrl: 'http://127.0.0.1:0',
    signingSecret: 'bench-secret-0123456789',
    s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials },
    gcs: { apiEndpoint: gcs.url, projectId: 'bench' },
  };
  const drivers: StorageDriver[] = [
    createStorageDriver(pathToFileURL(root).href, deps),
    createStorageDriver('s3://bench/memory', deps),
    createStorageDriver('gs://bench/memory', deps),
  ];
  try {
    // Unmeasured warm-up, so the baseline does not pay for first heap growth.
    await pipeline(generated(totalBytes), nullSink());
    const baseline = await measurePeakRss(() => pipeline(generated(totalBytes), nullSink()));
    const rows: Record<string, { peakDeltaMb: number; seconds: number; ratio: number }> = {
      baseline: { ...baseline, ratio: 1 },
    };
    for (const driver of drivers) {
      const result = await measurePeakRss(() => roundTrip(driver, totalBytes));
      // The baseline can be a fraction of a MB; 1 MB floor keeps the ratio readable.
      rows[driver.storeId] = { ...result, ratio: result.peakDeltaMb / Math.max(baseline.peakDeltaMb, 1) };
    }
    return { totalMb: totalBytes / MB, rows };
  } finally {
    await Promise.allSettled([s3.close(), gcs.close(), rm(root, { recursive: true, force: true })]);
  }
}

export function printStorageTable(result: Record<string, unknown>): void {
  const rows = result.rows as Record<string, { peakDeltaMb: number; seconds: number; ratio: number }>;
  console.log(`storage memory: ${String(result.totalMb)} MB put + get per driver (peak RSS growth)`);
  console.log('driver     peak MB   x baseline   % of object   seconds');
  for (const [name, row] of Object.entries(rows)) {
    const share = (100 * row.peakDeltaMb) / Number(result.totalMb);
    console.log(
      `${name.padEnd(10)} ${row.peakDeltaMb.toFixed(1).padStart(7)}   ${row.ratio.toFixed(2).padStart(10)}   ${share.toFixed(1).padStart(10)}%   ${row.seconds.toFixed(2).padStart(7)}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  benchStorageMemory()
    .then(printStorageTable)
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
