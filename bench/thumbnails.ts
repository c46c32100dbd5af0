// Thumbnails per second through the whole file pipeline (multipart upload over
// HTTP, file-process queue, sniffing, thumbnail, placeholders, storage, state
// changes) against raw sharp makeThumbnail on the same images in the same run.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../src/platform/config.js';
import { makeThumbnail } from '../src/platform/images/thumbnail.js';
import { createLogger } from '../src/platform/logger.js';
import { startRuntime } from '../src/app/runtime.js';
import { scratchDatabase } from './support.js';

const ENTITY = 'BENCH0001|SKU-1|DAMAGED|51076f94-b531-483c-884b-35ad67afa113';


/** Photo-like noise so JPEG decoding does real work. */
async function makeImages(count: number, width: number, height: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
        .blur(2 + (i % 3))
        .jpeg({ quality: 85 })
        .toBuffer(),
    ),
  );
}

async function withConcurrency<T>(items: T[], limit: number, run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

export interface ThumbnailBench {
  images: number;
  size: string;
  concurrency: number;
  rawSharpPerSecond: number;
  pipelinePerSecond: number;
  ratio: number;
  /** of the pipeline's time, spent until the last multipart upload was answered */
  uploadSeconds: number;
  totalSeconds: number;
}

export async function benchThumbnails(count = Number(process.env.BENCH_IMAGES ?? 80), width = 1600, height = 1200): Promise<ThumbnailBench> {
  const images = await makeImages(count, width, height);
  const db = await scratchDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-'));
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  const runtime = await startRuntime(config, 'all', createLogger(config, process.stderr));
  const concurrency = config.workerConcurrency;
  try {
    let started = performance.now();
    await withConcurrency(images, concurrency, (img) => makeThumbnail(img));
    const rawSeconds = (performance.now() - started) / 1000;

    const { account } = await runtime.services.accounts.ensureAccount('bench');
    const { key } = await runtime.services.accounts.createKey(account.id, 'bench');
    const files = runtime.services.files;
    started = performance.now();
    await withConcurrency(images, concurrency, async (img) => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: 'mutation($i: UploadFileInput!) { uploadFile(input: $i) { id } }', variables: { i: { entityType: 'SHIPMENT_ITEM', entityId: ENTITY, file: null } } }));
      form.append('map', JSON.stringify({ 0: ['variables.i.file'] }));
      form.append('0', new Blob([new Uint8Array(img)], { type: 'image/jpeg' }), 'bench.jpg');
      const res = await fetch(`${runtime.app!.url}/graphql`, { method: 'POST', headers: { 'x-api-key': key }, body: form });
      if (!res.ok) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
    });
    const uploadSeconds = (performance.now() - started) / 1000;
    for (;;) {
      const page = await files.listByEntity(account.id, { entityType: 'SHIPMENT_ITEM', entityId: ENTITY, first: 100, status: 'READY' });
      const failed = await files.listByEntity(account.id, { entityType: 'SHIPMENT_ITEM', entityId: ENTITY, first: 1, status: 'FAILED' });
      if (failed.rows.length) throw new Error(`a bench file failed: ${failed.rows[0]!.errorMessage}`);
      if (page.rows.length >= Math.min(count, 100)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const pipelineSeconds = (performance.now() - started) / 1000;
    const rawSharpPerSecond = round(count / rawSeconds);
    const pipelinePerSecond = round(count / pipelineSeconds);
    return { images: count, size: `${width}x${height} JPEG`, concurrency, rawSharpPerSecond, pipelinePerSecond, ratio: round(pipelinePerSecond / rawSharpPerSecond), uploadSeconds: round(uploadSeconds), totalSeconds: round(pipelineSeconds) };
  } finally {
    await runtime.stop();
    await db.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export function printThumbnails(r: ThumbnailBench): void {
  console.log(`\nthumbnails (${r.images} × ${r.size}, concurrency ${r.concurrency}):`);
  console.log(`  raw sharp makeThumbnail   ${r.rawSharpPerSecond} /s`);
  console.log(`  upload → queue → READY    ${r.pipelinePerSecond} /s   (ratio ${r.ratio} of raw; uploads answered after ${r.uploadSeconds} of ${r.totalSeconds} s)`);
}
