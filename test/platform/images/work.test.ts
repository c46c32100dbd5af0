// ImageWork: the per-process cap on images decoded at once, the byte cap while
// a source streams to disk, the pixel cap, and no temp file left behind.
import { readdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageRejectedError } from '../../../src/platform/images/thumbnail.js';
import { ImageWork, SourceTooLargeError } from '../../../src/platform/images/work.js';
import { tempDir } from '../../support/gateway.js';

const dirs: string[] = [];
function imageWork(limits: Partial<ImageWork['limits']> = {}) {
  const dir = tempDir('mg-image-work-');
  dirs.push(dir);
  return { dir, images: new ImageWork({ concurrency: 2, maxSourceBytes: 1024 * 1024, maxPixels: 1_000_000, ...limits }, dir) };
}
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

const source = (bytes: Buffer) => async () => Readable.from([bytes]);
const png = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#3366cc' } }).png().toBuffer();

describe('ImageWork', () => {
  it('works on at most `concurrency` images at once; the others wait their turn', async () => {
    const { images } = imageWork({ concurrency: 2 });
    let running = 0;
    let most = 0;
    const finish: (() => void)[] = [];
    const tasks = Array.from({ length: 5 }, (_, i) =>
      images.withLocalCopy(source(Buffer.from(`image ${i}`)), {}, async (local) => {
        most = Math.max(most, ++running);
        await new Promise<void>((resolve) => finish.push(resolve));
        running--;
        return local.size;
      }),
    );
    for (let done = 0; done < 5; done++) {
      await expect.poll(() => finish.length).toBeGreaterThan(0);
      expect(running).toBeLessThanOrEqual(2);
      finish.shift()!();
    }
    expect(await Promise.all(tasks)).toEqual([7, 7, 7, 7, 7]);
    expect(most).toBe(2);
  });

  it('a waiter whose job is aborted leaves the line without taking a slot', async () => {
    const { images } = imageWork({ concurrency: 1 });
    let release!: () => void;
    const first = images.withLocalCopy(source(Buffer.from('a')), {}, () => new Promise<void>((resolve) => (release = resolve)));
    await expect.poll(() => release).toBeDefined();
    const controller = new AbortController();
    let opened = false;
    const aborted = images.withLocalCopy(async () => ((opened = true), Readable.from([Buffer.from('b')])), { signal: controller.signal }, async () => 'never');
    controller.abort(new Error('job expired'));
    await expect(aborted).rejects.toThrow(/job expired/);
    expect(opened).toBe(false);
    release();
    await first;
    await expect(images.withLocalCopy(source(Buffer.from('c')), {}, async (local) => local.head.toString())).resolves.toBe('c');
  });

  it('refuses a source past its byte cap while streaming, and leaves no temp file', async () => {
    const { dir, images } = imageWork({ maxSourceBytes: 1000 });
    let used = false;
    const chunks = async () => Readable.from((function* () { for (let i = 0; i < 100; i++) yield Buffer.alloc(100, i); })());
    const err = await images.withLocalCopy(chunks, {}, async () => (used = true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceTooLargeError);
    expect(err).toBeInstanceOf(ImageRejectedError);
    expect(used).toBe(false);
    // The caller's own cap (e.g. a declared size) applies when it is smaller.
    await expect(images.withLocalCopy(source(Buffer.alloc(600)), { maxBytes: 500 }, async () => 'used')).rejects.toThrow(/larger than 500 bytes/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads info and makes a thumbnail from the copy; over the pixel cap is refused; the copy is gone afterwards', async () => {
    const { dir, images } = imageWork({ maxPixels: 1_000_000 });
    const made = await images.withLocalCopy(source(await png(1200, 800)), {}, async (local) => {
      expect(local.head.subarray(1, 4).toString()).toBe('PNG');
      return { info: await images.info(local), thumb: await images.thumbnail(local) };
    });
    expect(made.info).toMatchObject({ format: 'png', width: 1200, height: 800 });
    expect([made.thumb.width, made.thumb.height]).toEqual([320, 213]);
    const big = await images.withLocalCopy(source(await png(1001, 1000)), {}, (local) => images.info(local)).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(ImageRejectedError);
    expect(String(big)).toMatch(/over the 1000000 pixel limit/);
    expect(await readdir(dir)).toEqual([]);
  });
});
