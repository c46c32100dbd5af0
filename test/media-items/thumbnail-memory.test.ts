// A real `work` process making thumbnails of four large images at once stays
// within a memory bound and gives the memory back afterwards. Peak and current
// RSS come from the child's /proc/<pid>/status (VmHWM, VmRSS).
import { randomFillSync, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaObjectKey } from '../../src/media-items/service.js';
import { spawnTs, type TsChild } from '../support/child-process.js';
import { startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { waitUntil } from './helpers.js';

const MiB = 1024 * 1024;
const EDGE = 8000; // 64 MP, RGB: an uncompressed noisy PNG of ~192 MB
const IMAGES = 4;
const PEAK_LIMIT = 600 * MiB;
/** What the process may keep above its idle RSS once the work is done (allocator arenas, libvips threads)… */
const SETTLED_ABOVE_IDLE = 150 * MiB;
/** …within this long. */
const SETTLE_MS = 10_000;
const SIGNING_SECRET = 'thumbnail-memory-test-secret';

let gw: TestGateway;
let worker: TsChild;
let objectsDir: string;
let scratch: string;

async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Random pixels do not compress: a PNG of EDGE² noise is as large as its raw pixels. */
async function noisyPng(file: string, seedByte: number, orientation?: number): Promise<void> {
  const raw = randomFillSync(Buffer.allocUnsafe(EDGE * EDGE * 3));
  raw[0] = seedByte;
  let image = sharp(raw, { raw: { width: EDGE, height: EDGE, channels: 3 } });
  if (orientation) image = image.withMetadata({ orientation });
  await image.png({ compressionLevel: 0, adaptiveFiltering: false }).toFile(file);
}

beforeAll(async () => {
  objectsDir = tempDir('mg-thumb-mem-objects-');
  scratch = tempDir('mg-thumb-mem-scratch-');
  const env = { STORAGE_URL: pathToFileURL(objectsDir).href, SIGNING_SECRET };
  gw = await startTestGateway({ mode: 'serve', env });
  worker = spawnTs('test/support/child-work.ts', {
    ...env,
    DATABASE_URL: gw.databaseUrl,
    DATA_DIR: scratch,
    LOG_LEVEL: 'info',
  });
  await worker.waitFor((m) => m.msg === 'started', 60_000);
}, 120_000);

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await gw?.close();
  await rm(objectsDir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

describe('thumbnail memory', () => {
  it('four concurrent ~200 MB images: peak worker RSS ≤ 600 MB, back near idle afterwards', async () => {
    const pid = worker.proc.pid!;
    const { accountId } = await gw.keyFor('thumb-memory');
    const { storage, mediaItems, database } = gw.runtime.services;
    const items: string[] = [];
    for (let i = 0; i < IMAGES; i++) {
      // One of them EXIF-rotated: turning a full-size image needs the whole of it at once.
      const file = path.join(scratch, `noise-${i}.png`);
      await noisyPng(file, i, i === 0 ? 6 : undefined);
      const size = (await stat(file)).size;
      expect(size).toBeGreaterThan(180 * MiB);
      const id = randomUUID();
      const objectKey = mediaObjectKey(accountId, id);
      await storage.driver.put(objectKey, createReadStream(file), { contentType: 'image/png' });
      await rm(file);
      items.push(objectKey);
    }
    const idle = await memoryOf(pid);

    const created = await database.db.transaction(async (tx) => {
      const rows = [];
      for (const objectKey of items) {
        const head = (await storage.driver.head(objectKey))!;
        rows.push(
          await mediaItems.createFromStoredObject(tx, {
            accountId, objectKey, storageLocation: storage.driver.location, storeId: storage.driver.storeId,
            size: head.size, etag: head.etag, sha256: 'unused', mimeType: 'image/png', originalFileName: 'noise.png',
            width: null, height: null, title: null, description: null,
          }),
        );
      }
      return rows;
    });
    const done = await waitUntil(
      async () => {
        const rows = await Promise.all(created.map((item) => mediaItems.get(accountId, item.id)));
        return rows.every((row) => row?.thumbnailKey) && rows;
      },
      120_000,
      'four thumbnails',
    );
    expect(done.map((row) => [row!.width, row!.height])).toEqual(Array(IMAGES).fill([EDGE, EDGE]));
    const thumb = await sharp(Buffer.concat(await (await storage.driver.get(done[0]!.thumbnailKey!)).body.toArray())).metadata();
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['webp', 320, 320]);
    const { peak } = await memoryOf(pid);
    // libvips and the allocator hand memory back over a few seconds, not at once.
    let settled = await memoryOf(pid);
    for (let waited = 0; settled.rss - idle.rss > SETTLED_ABOVE_IDLE && waited < SETTLE_MS; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      settled = await memoryOf(pid);
    }
    const mb = (n: number) => Math.round(n / MiB);
    console.log(`work RSS: idle ${mb(idle.rss)} MB, peak (VmHWM) ${mb(peak)} MB, settled ${mb(settled.rss)} MB`);
    expect(peak).toBeLessThanOrEqual(PEAK_LIMIT);
    expect(settled.rss - idle.rss).toBeLessThanOrEqual(SETTLED_ABOVE_IDLE);
  }, 240_000);
});
