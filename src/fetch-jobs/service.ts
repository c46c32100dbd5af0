// FetchJobService: the only writer of fetch_jobs. Every method is scoped by
// account; another account's id behaves like a missing one. Status changes go
// through the job core's guarded transition, each announced (and, at the end,
// its webhook enqueued) in the transaction that makes it.
import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Config } from '../platform/config.js';
import type { Db, Tx } from '../platform/db/client.js';
import { keysetPage, type KeysetPage } from '../platform/db/paging.js';
import { ConflictError, NotFoundError } from '../platform/errors.js';
import type { EventBridge } from '../platform/events/bridge.js';
import type { Logger } from '../platform/logger.js';
import { validateMimePatterns, validateUrlArgument, type EgressPolicy } from '../platform/net/index.js';
import type { JobQueue } from '../platform/queue/queue.js';
import type { Storage } from '../platform/storage/setup.js';
import { objectKey } from '../platform/storage/keys.js';
import type { JobError } from '../jobs/failures.js';
import { JobStore } from '../jobs/store.js';
import type { UrlMetadata } from './extractors/types.js';
import { inspect } from './inspect.js';
import { fetchJobs, type FetchJobRow, type FetchJobStatus } from './tables.js';

export const FETCH_JOB_TOPIC = 'fetch-job';

export interface CreateFetchJobInput {
  url: string;
  webhookUrl?: string | null;
  fileName?: string | null;
  expectedMimeTypes?: string[] | null;
  idempotencyKey?: string | null;
}

/** A stored object that becomes a media item (what the media library needs to know). */
export interface FetchedObject {
  accountId: string;
  objectKey: string;
  storageLocation: string;
  storeId: string;
  size: number;
  etag: string;
  sha256: string;
  mimeType: string;
  originalFileName: string;
  width: number | null;
  height: number | null;
  title: string | null;
  description: string | null;
}

/** Everything this domain needs from the rest of the system, and nothing more. */
export interface FetchJobDeps {
  database: { db: Db };
  config: Config;
  events: Pick<EventBridge, 'publishChange'>;
  queue: Pick<JobQueue, 'send'>;
  storage: Pick<Storage, 'driver' | 'forUrl'>;
  logger: Logger;
  /** Registers a fetched object in the media library, in the job's completing transaction. */
  mediaItems: {
    createFromStoredObject(tx: Tx, object: FetchedObject): Promise<{ id: string }>;
    get(accountId: string, id: string): Promise<{ storageLocation: string; objectKey: string; mimeType: string } | null | undefined>;
  };
  webhooks: { enqueue(tx: Tx, input: { accountId: string; url: string; eventType: string; payload: Record<string, unknown> }): Promise<unknown> };
}

export const fetchObjectKey = (row: Pick<FetchJobRow, 'accountId' | 'id'>) => objectKey('fetch', row.accountId, row.id);

export function downloadName(row: Pick<FetchJobRow, 'fileName' | 'metadata'>): string {
  return row.fileName || row.metadata?.fileName || 'media';
}

export function downloadPath(row: FetchJobRow, publicUrl: string): string | null {
  return row.status === 'SUCCESS' ? `${publicUrl}/fetch/${row.id}/${encodeURIComponent(downloadName(row))}` : null;
}

/** The job as webhook receivers see it (no internal keys). */
export function jobJson(row: FetchJobRow, publicUrl: string): Record<string, unknown> {
  return {
    id: row.id,
    url: row.url,
    status: row.status,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage } : null,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    metadata: row.metadata ?? null,
    bytesReceived: row.bytesReceived,
    bytesTotal: row.bytesTotal,
    mediaItemId: row.mediaItemId,
    downloadUrl: downloadPath(row, publicUrl),
    webhookUrl: row.webhookUrl,
  };
}

export class FetchJobService {
  readonly store: JobStore<typeof fetchJobs>;

  constructor(readonly deps: FetchJobDeps) {
    this.store = new JobStore(deps, fetchJobs, { topic: FETCH_JOB_TOPIC, what: 'Fetch job', runningStatus: 'RUNNING' });
  }

  private get db() {
    return this.deps.database.db;
  }

  egressPolicy(): EgressPolicy {
    return { allowNetworks: this.deps.config.fetchAllowNetworks, maxBytes: this.deps.config.limits.maxFetchBytes };
  }

  /** What a fetch of `url` would find and whether it would be allowed; stores nothing. */
  async inspectUrl(url: string, expectedMimeTypes?: string[] | null): Promise<UrlMetadata> {
    validateUrlArgument(url, 'url');
    const accepted = validateMimePatterns(expectedMimeTypes, 'expectedMimeTypes');
    const { metadata } = await inspect(url, { policy: this.egressPolicy(), maxBytes: this.deps.config.limits.maxFetchBytes, expectedMimeTypes: accepted });
    return metadata;
  }

  async create(accountId: string, input: CreateFetchJobInput): Promise<FetchJobRow> {
    validateUrlArgument(input.url, 'url');
    if (input.webhookUrl) validateUrlArgument(input.webhookUrl, 'webhookUrl', { maxLength: 2048 });
    const expected = validateMimePatterns(input.expectedMimeTypes, 'expectedMimeTypes');
    const normalised = { url: input.url, webhookUrl: input.webhookUrl ?? null, fileName: input.fileName ?? null, expectedMimeTypes: expected };
    const inputHash = createHash('sha256').update(JSON.stringify(normalised)).digest('hex');
    const key = input.idempotencyKey ?? null;
    const created = await this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(fetchJobs)
        .values({ accountId, ...normalised, idempotencyKey: key, inputHash })
        .onConflictDoNothing({ target: [fetchJobs.accountId, fetchJobs.idempotencyKey] })
        .returning();
      if (!row) return null;
      await this.deps.queue.send('fetch-job', { accountId, fetchJobId: row.id }, { tx, retryDelay: this.deps.config.fetchRetryDelaySeconds });
      await this.store.announce(tx, row, 'CREATED');
      return row;
    });
    if (created) return created;
    // Only an idempotency key can make the insert a no-op: answer with its job.
    const [existing] = await this.db.select().from(fetchJobs).where(and(eq(fetchJobs.accountId, accountId), eq(fetchJobs.idempotencyKey, key!)));
    if (!existing) throw new ConflictError('A fetch job with this idempotency key is being created; retry');
    if (existing.inputHash !== inputHash) throw new ConflictError(`Idempotency key "${key}" was already used with different input`);
    return existing;
  }

  get(accountId: string, id: string): Promise<FetchJobRow | undefined> {
    return this.store.get(accountId, id);
  }

  /** `sentId` is what the caller sent (echoed in NOT_FOUND); `id` the UUID it names, if any. */
  require(accountId: string, id: string | null, sentId?: string): Promise<FetchJobRow> {
    return this.store.require(accountId, id, sentId);
  }

  getMany(accountId: string, ids: readonly (string | null)[]): Promise<(FetchJobRow | null)[]> {
    return this.store.getMany(accountId, ids);
  }

  /** Newest first; one statement per page. */
  list(accountId: string, options: { status?: FetchJobStatus | null; first: number; after?: string | null }): Promise<KeysetPage<FetchJobRow>> {
    return keysetPage<FetchJobRow>(this.db, {
      scope: FETCH_JOB_TOPIC,
      table: fetchJobs,
      createdAt: fetchJobs.createdAt,
      id: fetchJobs.id,
      where: [eq(fetchJobs.accountId, accountId), options.status ? eq(fetchJobs.status, options.status) : undefined],
      first: options.first,
      after: options.after,
    });
  }

  /** Stops a PENDING or RUNNING job: FAILED/CANCELLED now; a running worker notices within 250 ms and removes its partial object. */
  async cancel(accountId: string, id: string | null, sentId?: string): Promise<FetchJobRow> {
    const current = await this.require(accountId, id, sentId);
    const row = await this.finish(current, ['PENDING', 'RUNNING'], { status: 'FAILED', errorCode: 'CANCELLED', errorMessage: 'The fetch job was cancelled' });
    if (row) return row;
    const now = await this.require(accountId, current.id);
    throw new ConflictError(`Fetch job ${sentId ?? id} is already ${now.status}`);
  }

  /** The media item a finished job produced, through the media library. */
  mediaItemOf(row: FetchJobRow) {
    return row.mediaItemId ? this.deps.mediaItems.get(row.accountId, row.mediaItemId) : Promise.resolve(undefined);
  }

  /** Short-lived signed storage URL of a finished job's file; null while not SUCCESS. */
  async signedDownload(row: FetchJobRow, fileName?: string): Promise<string | null> {
    if (row.status !== 'SUCCESS') return null;
    const item = await this.mediaItemOf(row);
    // The media item owns the object once it exists; its key and store win.
    const location = item?.storageLocation ?? row.storageLocation;
    const key = item?.objectKey ?? row.objectKey;
    if (!location || !key || (row.mediaItemId && !item)) throw new NotFoundError('Fetched file', row.id);
    const signed = await this.deps.storage.forUrl(location).signedGetUrl(key, { expiresInSeconds: 300, downloadFileName: fileName || downloadName(row), contentType: item?.mimeType });
    return signed.url;
  }

  // ---- worker-facing ----

  /** PENDING (or RUNNING again, on a retry) → RUNNING; undefined when the job is already over (e.g. cancelled). */
  begin(accountId: string, id: string): Promise<FetchJobRow | undefined> {
    return this.store.move({
      accountId,
      id,
      from: ['PENDING', 'RUNNING'],
      set: { status: 'RUNNING', stage: 'RESOLVING', startedAt: sql`coalesce(${fetchJobs.startedAt}, now())`, attempts: sql`${fetchJobs.attempts} + 1`, bytesReceived: 0, heartbeatAt: new Date() } as never,
    });
  }

  async saveInspection(row: FetchJobRow, metadata: UrlMetadata, location: string, key: string): Promise<void> {
    await this.store.move({
      accountId: row.accountId,
      id: row.id,
      from: ['RUNNING'],
      set: { metadata, bytesTotal: metadata.size, storageLocation: location, objectKey: key, stage: 'DOWNLOADING' },
    });
  }

  /**
   * Ends a job. Only an unfinished row moves (the guard), so a cancel and a
   * completion racing each other end it exactly once; `prepare` runs in the
   * same transaction and only for the winner.
   */
  finish(
    row: Pick<FetchJobRow, 'accountId' | 'id'>,
    from: FetchJobStatus[],
    changes: Partial<FetchJobRow> & { status: 'SUCCESS' | 'FAILED' },
    prepare?: (tx: Tx) => Promise<Partial<FetchJobRow>>,
  ): Promise<FetchJobRow | undefined> {
    return this.store.move({
      accountId: row.accountId,
      id: row.id,
      from,
      set: { ...changes, stage: 'DONE', finishedAt: new Date() },
      prepare: prepare && ((tx) => prepare(tx)),
      after: (tx, done) => this.notifyWebhook(tx, done),
    });
  }

  /** `fence` (the job's lease check) runs in the recording transaction: a worker taken over from records nothing. */
  fail(row: FetchJobRow, error: JobError, fence?: (tx: Tx) => Promise<void>): Promise<FetchJobRow | undefined> {
    return this.finish(row, ['RUNNING'], { status: 'FAILED', errorCode: error.code, errorMessage: error.message }, fence && (async (tx) => (await fence(tx), {})));
  }

  private async notifyWebhook(tx: Tx, row: FetchJobRow): Promise<void> {
    if (!row.webhookUrl) return;
    await this.deps.webhooks.enqueue(tx, {
      accountId: row.accountId,
      url: row.webhookUrl,
      eventType: row.status === 'SUCCESS' ? 'fetch_job.completed' : 'fetch_job.failed',
      payload: jobJson(row, this.deps.config.publicUrl),
    });
  }
}
