// A real `work` process decoding large images for both image queues at once
// (four ~200 MB media-item thumbnails and four ~50 MB entity files) stays
// within a memory bound and gives the memory back afterwards. Peak and
// current RSS come from the child's /proc/<pid>/status (VmHWM, VmRSS).
import { randomFillSync, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stagingKey } from '../../../src/files/service.js';
import { mediaObjectKey } from '../../../src/media-items/service.js';
import { spawnTs, type TsChild } from '../../support/child-process.js';
import { startTestGateway, tempDir, type TestGateway } from '../../support/gateway.js';
import { ENTITY } from '../../files/helpers.js';
import { waitUntil } from '../../media-items/helpers.js';

const MiB = 1024 * 1024;
/** 64 MP, RGB: an uncompressed noisy PNG of ~192 MB. */
const ITEM_EDGE = 8000;
/** 16 MP: ~48 MB, under the files' byte limit set below. */
const FILE_EDGE = 4000;
const COUNT = 4;
const PEAK_LIMIT = 600 * MiB;
/** What the process may keep above its idle RSS once the work is done (allocator arenas, libvips threads)… */
const SETTLED_ABOVE_IDLE = 150 * MiB;
/** …within this long. */
const SETTLE_MS = 10_000;

let gw: TestGateway;
let worker: TsChild;
let objectsDir: string;
let scratch: string;

async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const bytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: bytes('VmRSS'), peak: bytes('VmHWM') };
}

/** Random pixels do not compress: a PNG of noise is as large as its raw pixels. */
async function noisyPng(edge: number, orientation?: number): Promise<string> {
  const file = path.join(scratch, `${randomUUID()}.png`);
  const raw = randomFillSync(Buffer.allocUnsafe(edge * edge * 3));
  let image = sharp(raw, { raw: { width: edge, height: edge, channels: 3 } });
  if (orientation) image = image.withMetadata({ orientation });
  await image.png({ compressionLevel: 0, adaptiveFiltering: false }).toFile(file);
  return file;
}

beforeAll(async () => {
  objectsDir = tempDir('mg-image-mem-objects-');
  scratch = tempDir('mg-image-mem-scratch-');
  // The gateway only records; the child is the one process doing the work.
  const env = { STORAGE_URL: pathToFileURL(objectsDir).href, SIGNING_SECRET: 'worker-memory-test-secret', MAX_FILE_BYTES: String(64 * MiB) };
  gw = await startTestGateway({ mode: 'serve', env });
  worker = spawnTs('test/support/child-work.ts', { ...env, DATABASE_URL: gw.databaseUrl, DATA_DIR: scratch, LOG_LEVEL: 'info' });
  await worker.waitFor((m) => m.msg === 'started', 60_000);
}, 120_000);

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await gw?.close();
  await rm(objectsDir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

describe('image work memory', () => {
  it('4 concurrent ~200 MB thumbnails and 4 ~50 MB files: peak worker RSS ≤ 600 MB, back near idle afterwards', async () => {
    const pid = worker.proc.pid!;
    const { accountId } = await gw.keyFor('image-memory');
    const { storage, mediaItems, files, database } = gw.runtime.services;
    const { driver } = storage;

    const itemKeys: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      // One of them EXIF-rotated: turning a full-size image needs all of it at once.
      const png = await noisyPng(ITEM_EDGE, i === 0 ? 6 : undefined);
      expect((await stat(png)).size).toBeGreaterThan(180 * MiB);
      const key = mediaObjectKey(accountId, randomUUID());
      await driver.put(key, createReadStream(png), { contentType: 'image/png' });
      await rm(png);
      itemKeys.push(key);
    }
    const uploads: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const png = await noisyPng(FILE_EDGE);
      const { size } = await stat(png);
      const { file } = await files.createUpload(accountId, { entityType: 'SHIPMENT_ITEM', entityId: ENTITY, contentType: 'image/png', fileSize: size });
      await driver.put(stagingKey(accountId, file.id), createReadStream(png), { contentType: 'image/png' });
      await rm(png);
      uploads.push(file.id);
    }
    const idle = await memoryOf(pid);

    // Everything becomes work at the same moment.
    const items = await database.db.transaction(async (tx) => {
      const rows = [];
      for (const objectKey of itemKeys) {
        const head = (await driver.head(objectKey))!;
        rows.push(
          await mediaItems.createFromStoredObject(tx, {
            accountId, objectKey, storageLocation: driver.location, storeId: driver.storeId,
            size: head.size, etag: head.etag, sha256: 'not checked here', mimeType: 'image/png', originalFileName: 'noise.png',
            width: null, height: null, title: null, description: null,
          }),
        );
      }
      return rows;
    });
    await Promise.all(uploads.map((id) => files.completeUpload(accountId, id)));

    const thumbnailed = await waitUntil(async () => {
      const rows = await Promise.all(items.map((item) => mediaItems.get(accountId, item.id)));
      return rows.every((row) => row?.thumbnailKey) && rows;
    }, 120_000, 'media item thumbnails');
    expect(thumbnailed.map((row) => [row!.width, row!.height])).toEqual(Array(COUNT).fill([ITEM_EDGE, ITEM_EDGE]));
    const thumb = await sharp(Buffer.concat(await (await driver.get(thumbnailed[0]!.thumbnailKey!)).body.toArray())).metadata();
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['webp', 320, 320]);
    const processed = await waitUntil(async () => {
      const rows = await Promise.all(uploads.map((id) => files.get(accountId, id)));
      return rows.every((row) => row?.status === 'READY' || row?.status === 'FAILED') && rows;
    }, 120_000, 'files processed');
    expect(processed.map((row) => [row!.status, row!.width])).toEqual(Array(COUNT).fill(['READY', FILE_EDGE]));

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
