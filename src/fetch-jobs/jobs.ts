// The `fetch-job` queue. One attempt: RUNNING → resolve the media URL through
// the extractors → the job core's transfer (MIME gate, storage, progress and
// cancel) → SUCCESS with a MediaItem, in one transaction with its webhook.
import { defineJob } from '../platform/queue/define-job.js';
import { JobAbortedError, type JobContext } from '../platform/queue/worker.js';
import { runAttempt } from '../jobs/attempt.js';
import { transfer } from '../jobs/transfer.js';
import type { UrlMetadata } from './extractors/types.js';
import { chooseFileName, emptyMetadata, resolveMedia } from './inspect.js';
import { fetchObjectKey, type FetchJobService } from './service.js';

declare module '../platform/queue/registry.js' {
  interface QueuePayloads {
    'fetch-job': { accountId: string; fetchJobId: string };
  }
}

/** Just under the queue's one-hour expiry. */
const MEDIA_TOTAL_TIMEOUT_MS = 55 * 60_000;

export async function runFetchJob(service: FetchJobService, payload: { accountId: string; fetchJobId: string }, job: JobContext): Promise<void> {
  const { deps } = service;
  const maxBytes = deps.config.limits.maxFetchBytes;
  const driver = deps.storage.driver;
  await runAttempt({
    job,
    logger: deps.logger,
    maxBytes,
    begin: () => service.begin(payload.accountId, payload.fetchJobId),
    fail: async (row, error) => void (await service.fail(row, error, (tx) => job.fence(tx))),
    run: async (row) => {
      const key = fetchObjectKey(row);
      const meta = emptyMetadata(row.url);
      const accept = row.expectedMimeTypes?.length ? row.expectedMimeTypes : null;
      const policy = service.egressPolicy();
      await resolveMedia(row.url, { policy, maxBytes, expectedMimeTypes: accept, signal: job.signal }, meta);
      await service.saveInspection(row, meta, driver.location, key);
      const result = await transfer({
        url: meta.mediaUrl!,
        // Large media may take longer than the fetcher's default total time;
        // the idle timeout still catches a stalled server, and the queue's expiry the rest.
        policy: { ...policy, totalTimeoutMs: MEDIA_TOTAL_TIMEOUT_MS },
        signal: job.signal,
        accept,
        driver,
        key,
        maxBytes,
        expectedSize: meta.size,
        progress: (received, total, changed) => service.store.progress(row, { received, total }, changed),
        warn: (err) => deps.logger.warn({ err, fetchJob: row.id }, 'could not record fetch progress'),
      });
      const fileName = chooseFileName(row.fileName, meta, result.ext);
      const { stored, mimeType } = result;
      let done;
      try {
        done = await service.finish(row, ['RUNNING'], { status: 'SUCCESS', bytesReceived: stored.size, bytesTotal: stored.size, errorCode: null, errorMessage: null }, async (tx) => {
          // Presumed dead and taken over: the other worker's attempt records the outcome.
          await job.fence(tx);
          const item = await deps.mediaItems.createFromStoredObject(tx, {
            accountId: row.accountId, objectKey: key, storageLocation: driver.location, storeId: driver.storeId, size: stored.size, etag: stored.etag, sha256: stored.sha256,
            mimeType, originalFileName: fileName, width: meta.width, height: meta.height, title: meta.title, description: meta.description,
          });
          return { mediaItemId: item.id, fileName, metadata: { ...meta, mimeType, size: stored.size, fileName } satisfies UrlMetadata };
        });
      } catch (err) {
        // Taken over: the key is the other attempt's now.
        if (!(err instanceof JobAbortedError && err.reason === 'lost')) await driver.delete(key).catch(() => {});
        throw err;
      }
      // Cancelled between the last byte and the commit: the object has no owner.
      if (!done) await driver.delete(key).catch(() => {});
    },
  });
}

export const fetchJob = defineJob({
  name: 'fetch-job',
  policy: { expireInSeconds: 60 * 60 },
  handle: (service: FetchJobService, payload, job) => runFetchJob(service, payload, job),
});
