// The `fetch-job` queue handler. One attempt: RUNNING → resolve the media URL
// through the extractors → stream it through the MIME gate into storage →
// SUCCESS with a MediaItem, or FAILED with a readable error. Transient
// failures are thrown so pg-boss retries with backoff; everything else is
// recorded and the pg-boss job completes.
import { pipeline } from 'node:stream';
import type { QueuePayloads } from '../queue/registry.js';
import type { JobContext } from '../queue/worker.js';
import type { AppServices } from '../services.js';
import { parseContentLengthOrRange, safeFetch, type EgressPolicy } from '../net/index.js';
import type { UrlMetadata } from './extractors/types.js';
import { CancelledError, describeFailure, FetchJobFailure } from './failures.js';
import { MimeGate } from './gate.js';
import { chooseFileName, emptyMetadata, resolveMedia } from './inspect.js';
import { registerStoredObject } from './media-link.js';
import { finish, markRunning, recordProgress, saveInspection, type Deps } from './state.js';
import type { FetchJobRow } from './tables.js';

/** Progress is written and announced at most this often; it doubles as the cancel check. */
export const PROGRESS_INTERVAL_MS = 250;
/** Just under the fetch-job queue's one-hour expiry. */
const MEDIA_TOTAL_TIMEOUT_MS = 55 * 60_000;

export type WorkerDeps = Deps & Pick<AppServices, 'storage' | 'mediaItems' | 'logger'>;

export const objectKeyFor = (row: Pick<FetchJobRow, 'accountId' | 'id'>) => `fetch/${row.accountId}/${row.id}/original`;

export function egressPolicy(deps: Pick<AppServices, 'config'>): EgressPolicy {
  return { allowNetworks: deps.config.fetchAllowNetworks, maxBytes: deps.config.limits.maxFetchBytes };
}

export async function runFetchJob(deps: WorkerDeps, payload: QueuePayloads['fetch-job'], job: JobContext): Promise<void> {
  const row = await markRunning(deps, payload.accountId, payload.fetchJobId);
  if (!row) return; // cancelled before it started, or already finished by an earlier attempt
  const maxBytes = deps.config.limits.maxFetchBytes;
  const controller = new AbortController();
  const onJobAbort = () => controller.abort(job.signal.reason);
  job.signal.addEventListener('abort', onJobAbort, { once: true });
  const driver = deps.storage.driver;
  const key = objectKeyFor(row);
  let stored = false;
  let ticker: NodeJS.Timeout | undefined;
  try {
    const meta = emptyMetadata(row.url);
    const accepted = row.expectedMimeTypes?.length ? row.expectedMimeTypes : null;
    const policy = egressPolicy(deps);
    await resolveMedia(row.url, { policy, maxBytes, expectedMimeTypes: accepted, signal: controller.signal }, meta);
    await saveInspection(deps, row, meta, driver.location, key);

    // Large media may take longer than the fetcher's default 10-minute total;
    // the idle timeout still catches a stalled server, and the queue's expiry the rest.
    const res = await safeFetch(meta.mediaUrl!, { policy: { ...policy, totalTimeoutMs: MEDIA_TOTAL_TIMEOUT_MS }, signal: controller.signal });
    res.assertOk();
    const total = parseContentLengthOrRange(res.headers, { partial: false }) ?? meta.size;
    const gate = new MimeGate(accepted);
    let reported = -1;
    const tick = async () => {
      // Written even when nothing arrived: a stalled download must still notice a cancel.
      const changed = gate.bytes !== reported;
      reported = gate.bytes;
      if (!(await recordProgress(deps, row, reported, total, changed))) controller.abort(new CancelledError());
    };
    let ticking: Promise<void> = Promise.resolve();
    ticker = setInterval(() => {
      ticking = ticking.then(tick).catch((err: unknown) => deps.logger.warn({ err, fetchJob: row.id }, 'could not record fetch progress'));
    }, PROGRESS_INTERVAL_MS);
    stored = true;
    const body = pipeline(res.body, gate, () => {});
    const result = await driver.put(key, body, { maxBytes, contentType: meta.mimeType ?? 'application/octet-stream' });
    clearInterval(ticker);
    await ticking;
    if (controller.signal.aborted) throw controller.signal.reason;

    const mimeType = gate.mimeType ?? meta.mimeType ?? 'application/octet-stream';
    const fileName = chooseFileName(row.fileName, meta, gate.ext);
    const done = await finish(deps, row.accountId, row.id, ['RUNNING'], { status: 'SUCCESS', bytesReceived: result.size, bytesTotal: result.size, errorCode: null, errorMessage: null }, async (tx) => {
      const item = await registerStoredObject(deps, tx, {
        accountId: row.accountId, objectKey: key, storageLocation: driver.location, storeId: driver.storeId, size: result.size, etag: result.etag, sha256: result.sha256,
        mimeType, originalFileName: fileName, width: meta.width, height: meta.height, title: meta.title, description: meta.description,
      });
      return { mediaItemId: item.id, fileName, metadata: { ...meta, mimeType, size: result.size, fileName } satisfies UrlMetadata };
    });
    // Cancelled between the last byte and the commit: the object has no owner.
    if (!done) await driver.delete(key).catch(() => {});
  } catch (err) {
    if (ticker) clearInterval(ticker);
    const reason = controller.signal.aborted ? controller.signal.reason : err;
    if (stored) await driver.delete(key).catch((e: unknown) => deps.logger.warn({ err: e, key }, 'could not delete a partial fetch object'));
    // Shutdown or expiry: the queue hands the job back (or retries it); the row stays RUNNING meanwhile.
    if (job.signal.aborted) throw job.signal.reason;
    if (reason instanceof CancelledError) return;
    const failure = describeFailure(reason, maxBytes);
    if (failure.transient && job.retryCount < job.retryLimit) {
      deps.logger.info({ fetchJob: row.id, code: failure.code, attempt: job.retryCount + 1 }, 'fetch failed; retrying');
      throw reason instanceof Error ? reason : new FetchJobFailure(failure.code, failure.message, true);
    }
    await finish(deps, row.accountId, row.id, ['RUNNING'], { status: 'FAILED', errorCode: failure.code, errorMessage: failure.message });
  } finally {
    job.signal.removeEventListener('abort', onJobAbort);
  }
}
