// The `download-task` queue. One attempt: IN_PROGRESS → the job core's
// transfer (through the country's egress proxy, MIME gate on the sniffed
// bytes, optional gzip, streamed into the destination) → SUCCESS with the
// object's details, or FAILED; the callback rides the webhook delivery.
import { createGzip } from 'node:zlib';
import { defineJob } from '../platform/queue/define-job.js';
import { JobAbortedError, type JobContext } from '../platform/queue/worker.js';
import { runAttempt } from '../jobs/attempt.js';
import { transfer } from '../jobs/transfer.js';
import type { DownloadTaskService } from './service.js';

declare module '../platform/queue/registry.js' {
  interface QueuePayloads {
    'download-task': { accountId: string; downloadTaskId: string };
  }
}

/** Just under the queue's one-hour expiry. */
const TOTAL_TIMEOUT_MS = 55 * 60_000;

export async function runDownloadTask(service: DownloadTaskService, payload: { accountId: string; downloadTaskId: string }, job: JobContext): Promise<void> {
  const { deps } = service;
  const maxBytes = deps.config.limits.maxFetchBytes;
  await runAttempt({
    job,
    logger: deps.logger,
    maxBytes,
    begin: () => service.begin(payload.accountId, payload.downloadTaskId),
    fail: async (row, error) => void (await service.fail(row, error, (tx) => job.fence(tx))),
    run: async (row) => {
      const driver = service.driverFor(row);
      const result = await transfer({
        url: row.input.url,
        policy: { ...service.egressPolicy(row.input.country), totalTimeoutMs: TOTAL_TIMEOUT_MS },
        headers: { 'accept-language': row.acceptLanguage },
        signal: job.signal,
        accept: row.input.expectedMimeTypes,
        refusalCode: 'MIME_NOT_EXPECTED',
        driver,
        key: (sniffed) => service.objectKeyFor(row, sniffed.ext),
        maxBytes,
        encode: row.compressed ? () => createGzip() : undefined,
        contentEncoding: row.compressed ? 'gzip' : undefined,
        progress: (received, total, changed) => service.store.progress(row, { received, total }, changed),
        warn: (err) => deps.logger.warn({ err, downloadTask: row.id }, 'could not record download progress'),
      });
      let done;
      try {
        done = await service.succeed(row, result.key, result.stored, result.contentType, result.received, (tx) => job.fence(tx));
      } catch (err) {
        // Taken over: the key is the other attempt's now.
        if (!(err instanceof JobAbortedError && err.reason === 'lost')) await driver.delete(result.key).catch(() => {});
        throw err;
      }
      // Cancelled between the last byte and the commit: the object has no owner.
      if (!done) await driver.delete(result.key).catch(() => {});
    },
  });
}

export const downloadTaskJob = defineJob({
  name: 'download-task',
  policy: { expireInSeconds: 60 * 60 },
  handle: (service: DownloadTaskService, payload, job) => runDownloadTask(service, payload, job),
});
