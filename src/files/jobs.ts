// The files domain's queues. `file-process` copies the staged upload to the
// file's own key (which no upload link can write), checks that copy, finds out
// what it really is, and makes the thumbnail and placeholders. Idempotent:
// keys are fixed per file, a retry resumes a PROCESSING file, and only one
// caller can move it to READY or FAILED. `file-sweep` fails uploads
// never completed: FileService.createUpload schedules one per minute of
// uploads, due after they have all expired, so sweeps need no timer or leader
// election (the sweep's UPDATE … SKIP LOCKED lets any number of workers share it).
import { Readable } from 'node:stream';
import { ImageRejectedError } from '../platform/images/thumbnail.js';
import { makePlaceholder } from '../platform/images/placeholder.js';
import { sniffMime } from '../platform/net/sniff.js';
import type { JobContext } from '../platform/queue/worker.js';
import { defineJob } from '../platform/queue/define-job.js';
import { ObjectNotFoundError } from '../platform/storage/errors.js';
import { originalKey, thumbnailKey, type FileService, type ProcessedFields } from './service.js';
import type { FileRow } from './tables.js';

declare module '../platform/queue/registry.js' {
  interface QueuePayloads {
    'file-process': { accountId: string; fileId: string };
    'file-sweep': Record<string, never>;
  }
}

/** A problem with the file itself: retrying will not help, so the file is FAILED. */
class Unprocessable extends Error {}

/** Another attempt copied the upload again while this one checked it; that attempt carries on. */
class Superseded extends Error {}

interface Analysed {
  fields: ProcessedFields;
  /** Throws Superseded when the checked object is no longer the one under the file's key. */
  confirm(): Promise<void>;
}

/** Null when the file is no longer PROCESSING (finished by a racing attempt, or deleted). */
async function analyse(files: FileService, file: FileRow, signal: AbortSignal): Promise<Analysed | null> {
  const driver = files.driverFor(file);
  const expected = file.fileSize ?? file.declaredSize;
  const key = originalKey(file.accountId, file.id);
  // The upload is copied to the file's own key first, and that copy is what is
  // checked and served: a later write to the staging key cannot reach it.
  try {
    if (!(await files.promoteUpload(file))) return null;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) throw new Unprocessable('the uploaded object is missing from storage');
    throw err;
  }
  const head = await driver.head(key);
  if (!head) throw new Unprocessable('the uploaded object is missing from storage');
  if (head.size !== expected) throw new Unprocessable(`the stored object is ${head.size} bytes, expected ${expected}`);
  const { images } = files;
  let checked = '';
  const open = async () => {
    const got = await driver.get(key);
    checked = got.etag;
    return got.body;
  };
  // Streamed to a temp file within the process's image caps, never held in memory.
  const { mime, info, thumb, placeholder } = await images.withLocalCopy(open, { maxBytes: expected, signal }, async (source) => {
    // The type comes from the bytes, before any decoder sees them.
    const sniffed = await sniffMime(source.head);
    if (!sniffed || !files.allowedContentTypes.includes(sniffed.mime)) {
      throw new Unprocessable(`the content is ${sniffed?.mime ?? 'of an unrecognised type'}, not one of ${files.allowedContentTypes.join(', ')}`);
    }
    const info = await images.info(source);
    const thumb = await images.thumbnail(source);
    // The thumbnail is small and already rotated: a cheap, faithful source for the placeholders.
    return { mime: sniffed.mime, info, thumb, placeholder: await makePlaceholder(thumb.data) };
  });
  signal.throwIfAborted();
  const thumbKey = thumbnailKey(file.accountId, file.id);
  await driver.put(thumbKey, Readable.from([thumb.data]), { contentType: thumb.contentType });
  return {
    fields: { objectKey: key, contentType: mime, width: info.width, height: info.height, thumbnailKey: thumbKey, ...placeholder },
    confirm: async () => {
      if ((await driver.head(key))?.etag !== checked) throw new Superseded(`File ${file.id}: its object was copied again while it was checked`);
    },
  };
}

export async function processFile(files: FileService, payload: { accountId: string; fileId: string }, job: JobContext): Promise<void> {
  const file = await files.beginProcessing(payload.accountId, payload.fileId);
  // Deleted, already finished, or (impossible for a queued job) still uploading: nothing to do.
  if (!file) return;
  try {
    const analysed = await analyse(files, file, job.signal);
    if (analysed) await files.markReady(file.accountId, file.id, analysed.fields, analysed.confirm);
  } catch (err) {
    if (err instanceof Superseded) return;
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
