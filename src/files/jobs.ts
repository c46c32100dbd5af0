// The files domain's queues. `file-process` checks the stored object, finds
// out what it really is, and makes the thumbnail and placeholders. Idempotent:
// the thumbnail key is fixed per file, a retry resumes a PROCESSING file, and
// only one caller can move it to READY or FAILED. `file-sweep` fails uploads
// never completed: FileService.createUpload schedules one per minute of
// uploads, due after they have all expired, so sweeps need no timer or leader
// election (the sweep's UPDATE … SKIP LOCKED lets any number of workers share it).
import { Readable } from 'node:stream';
import { ImageRejectedError, MAX_INPUT_PIXELS, makeThumbnail, readImageInfo } from '../platform/images/thumbnail.js';
import { makePlaceholder } from '../platform/images/placeholder.js';
import { sniffMime } from '../platform/net/sniff.js';
import type { JobContext } from '../platform/queue/worker.js';
import { defineJob } from '../platform/queue/define-job.js';
import { thumbnailKey, type FileService, type ProcessedFields } from './service.js';
import type { FileRow } from './tables.js';

declare module '../platform/queue/registry.js' {
  interface QueuePayloads {
    'file-process': { accountId: string; fileId: string };
    'file-sweep': Record<string, never>;
  }
}

/** A problem with the file itself: retrying will not help, so the file is FAILED. */
class Unprocessable extends Error {}

async function readAll(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new Unprocessable(`the stored object is larger than its ${limit} declared bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function analyse(files: FileService, file: FileRow, signal: AbortSignal): Promise<ProcessedFields> {
  const driver = files.driverFor(file);
  const expected = file.fileSize ?? file.declaredSize;
  const head = await driver.head(file.objectKey);
  if (!head) throw new Unprocessable('the uploaded object is missing from storage');
  if (head.size !== expected) throw new Unprocessable(`the stored object is ${head.size} bytes, expected ${expected}`);
  const bytes = await readAll((await driver.get(file.objectKey)).body, expected);
  signal.throwIfAborted();
  const sniffed = await sniffMime(bytes.subarray(0, 4100));
  if (!sniffed || !files.allowedContentTypes.includes(sniffed.mime)) {
    throw new Unprocessable(`the content is ${sniffed?.mime ?? 'of an unrecognised type'}, not one of ${files.allowedContentTypes.join(', ')}`);
  }
  const info = await readImageInfo(bytes);
  // Checked here too so the refusal reads the same whichever sharp call notices first.
  if (info.width * info.height > MAX_INPUT_PIXELS) {
    throw new Unprocessable(`the image is ${info.width}×${info.height}, over the ${MAX_INPUT_PIXELS} pixel limit`);
  }
  const thumb = await makeThumbnail(bytes);
  // The thumbnail is small and already rotated: a cheap, faithful source for the placeholders.
  const placeholder = await makePlaceholder(thumb.data);
  signal.throwIfAborted();
  const key = thumbnailKey(file.accountId, file.id);
  await driver.put(key, Readable.from([thumb.data]), { contentType: thumb.contentType });
  return { contentType: sniffed.mime, width: info.width, height: info.height, thumbnailKey: key, ...placeholder };
}

export async function processFile(files: FileService, payload: { accountId: string; fileId: string }, job: JobContext): Promise<void> {
  const file = await files.beginProcessing(payload.accountId, payload.fileId);
  // Deleted, already finished, or (impossible for a queued job) still uploading: nothing to do.
  if (!file) return;
  try {
    const fields = await analyse(files, file, job.signal);
    await files.markReady(file.accountId, file.id, fields);
  } catch (err) {
    if (err instanceof Unprocessable || err instanceof ImageRejectedError) {
      await files.markFailed(file.accountId, file.id, err.message);
      return;
    }
    // Storage or database trouble: retry, and record the reason once retries run out.
    if (job.retryCount >= job.retryLimit) {
      await files.markFailed(file.accountId, file.id, `processing failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    throw err;
  }
}

export const fileProcessJob = defineJob({
  name: 'file-process',
  handle: (service: FileService, payload, job) => processFile(service, payload, job),
});

export const fileSweepJob = defineJob({
  name: 'file-sweep',
  policy: { expireInSeconds: 5 * 60 },
  concurrency: 1,
  handle: async (service: FileService) => void (await service.sweepExpiredUploads(new Date())),
});
