// DownloadTaskService: the only writer of download_tasks and
// storage_destinations. Every method is scoped by account; another account's
// id behaves like a missing one. Tasks move through the job core's guarded
// transitions; the callback goes out through the webhook delivery in the
// transaction that ends the task.
import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Config } from '../platform/config.js';
import type { Db, Tx } from '../platform/db/client.js';
import { keysetPage, type KeysetPage } from '../platform/db/paging.js';
import { ConflictError, ValidationError } from '../platform/errors.js';
import type { EventBridge } from '../platform/events/bridge.js';
import type { Logger } from '../platform/logger.js';
import { validateMimePatterns, validateUrlArgument, type EgressPolicy } from '../platform/net/index.js';
import type { JobQueue } from '../platform/queue/queue.js';
import type { PutResult, StorageDriver } from '../platform/storage/driver.js';
import { objectKey } from '../platform/storage/keys.js';
import type { Storage } from '../platform/storage/setup.js';
import type { JobError } from '../jobs/failures.js';
import { JobStore } from '../jobs/store.js';
import { DestinationAllowList, parseDestinationUrl, validateObjectName } from './destinations.js';
import { referenceTask } from './reference.js';
import { acceptLanguage, DEFAULT_COUNTRY, validateCountry, validateLocale } from './regions.js';
import {
  downloadTasks,
  type DownloadTaskInput,
  type DownloadTaskResult,
  type DownloadTaskRow,
  type DownloadTaskState,
  type StorageType,
} from './tables.js';

export const DOWNLOAD_TASK_TOPIC = 'download-task';

export interface CreateDownloadTaskRequest {
  url: string;
  country?: string | null;
  locale?: string | null;
  expectedMimeTypes?: string[] | null;
  storage?: { type?: StorageType | null; url: string; objectName?: string | null } | null;
  storageCompress?: boolean | null;
  callbackUrl?: string | null;
  idempotencyKey?: string | null;
}

export interface DownloadTaskDeps {
  database: { db: Db };
  config: Config;
  events: Pick<EventBridge, 'publishChange'>;
  queue: Pick<JobQueue, 'send'>;
  storage: Pick<Storage, 'driver' | 'forDestination'>;
  logger: Logger;
  webhooks: { enqueue(tx: Tx, input: { accountId: string; url: string; eventType: string; payload: Record<string, unknown> }): Promise<unknown> };
}

export class DownloadTaskService {
  readonly store: JobStore<typeof downloadTasks>;
  /** The account's allow-list of destinations. */
  readonly destinations: DestinationAllowList;
  private readonly db: Db;

  constructor(readonly deps: DownloadTaskDeps) {
    this.db = deps.database.db;
    this.destinations = new DestinationAllowList(deps);
    this.store = new JobStore(deps, downloadTasks, { topic: DOWNLOAD_TASK_TOPIC, what: 'Download task', runningStatus: 'IN_PROGRESS' });
  }

  // ---- egress ----

  /** The CONNECT proxy for a country (its own, else the default); undefined means direct. */
  proxyFor(country: string): string | undefined {
    const { egress } = this.deps.config;
    const proxy = egress.proxies[country] ?? egress.defaultProxy;
    if (!proxy && !egress.allowDirect) {
      throw new ValidationError('country', `no egress proxy is configured for ${country} (set PROXY_${country} or PROXY_DEFAULT, or ALLOW_DIRECT_EGRESS=true)`);
    }
    return proxy;
  }

  egressPolicy(country: string): EgressPolicy {
    return { allowNetworks: this.deps.config.fetchAllowNetworks, maxBytes: this.deps.config.limits.maxFetchBytes, proxyUrl: this.proxyFor(country) };
  }

  // ---- tasks ----

  async create(account: { id: string; name: string }, request: CreateDownloadTaskRequest): Promise<DownloadTaskRow> {
    const input = this.normalise(request);
    // Refused before anything is stored or fetched.
    const acceptLang = acceptLanguage(input.locale, input.country);
    this.proxyFor(input.country);
    const destination = await this.destinationFor(account.id, input);
    const inputHash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
    const key = request.idempotencyKey ?? null;
    const created = await this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(downloadTasks)
        .values({
          accountId: account.id,
          accountName: account.name,
          input,
          destinationUrl: destination.url,
          destinationEndpoint: destination.endpoint,
          destinationRegion: destination.region,
          acceptLanguage: acceptLang,
          compressed: input.storageCompress,
          idempotencyKey: key,
          inputHash,
        })
        .onConflictDoNothing({ target: [downloadTasks.accountId, downloadTasks.idempotencyKey] })
        .returning();
      if (!row) return null;
      await this.deps.queue.send('download-task', { accountId: account.id, downloadTaskId: row.id }, { tx, retryDelay: this.deps.config.fetchRetryDelaySeconds });
      await this.store.announce(tx, row, 'CREATED');
      return row;
    });
    if (created) return created;
    const [existing] = await this.db.select().from(downloadTasks).where(and(eq(downloadTasks.accountId, account.id), eq(downloadTasks.idempotencyKey, key!)));
    if (!existing) throw new ConflictError('A download task with this idempotency key is being created; retry');
    if (existing.inputHash !== inputHash) throw new ConflictError(`Idempotency key "${key}" was already used with different input`);
    return existing;
  }

  private normalise(request: CreateDownloadTaskRequest): DownloadTaskInput {
    validateUrlArgument(request.url, 'url');
    const country = validateCountry(request.country ?? DEFAULT_COUNTRY);
    const locale = request.locale == null ? null : validateLocale(request.locale);
    const expectedMimeTypes = validateMimePatterns(request.expectedMimeTypes, 'expectedMimeTypes');
    if (request.callbackUrl) validateUrlArgument(request.callbackUrl, 'callbackUrl', { maxLength: 2048 });
    let storage: DownloadTaskInput['storage'] = null;
    if (request.storage) {
      const parsed = parseDestinationUrl(request.storage.url, 'storage.url', { allowFile: this.deps.config.allowFileDestinations });
      if (request.storage.type && request.storage.type !== parsed.type) {
        throw new ValidationError('storage.type', `${request.storage.type} does not match the ${parsed.type} URL ${parsed.url}`);
      }
      storage = { type: parsed.type, url: parsed.url, objectName: request.storage.objectName == null ? null : validateObjectName(request.storage.objectName) };
    }
    return { url: request.url, country, locale, expectedMimeTypes, storage, storageCompress: request.storageCompress ?? false, callbackUrl: request.callbackUrl ?? null };
  }

  /** The allow-listed entry covering the task's destination, or the account's default storage. */
  private async destinationFor(accountId: string, input: DownloadTaskInput): Promise<{ url: string; endpoint: string | null; region: string | null }> {
    if (!input.storage) return { url: this.deps.storage.driver.location.replace(/\/?$/, '/'), endpoint: null, region: null };
    const entry = await this.destinations.covering(accountId, input.storage.url);
    return { url: input.storage.url, endpoint: entry.endpoint, region: entry.region };
  }

  get(accountId: string, id: string): Promise<DownloadTaskRow | undefined> {
    return this.store.get(accountId, id);
  }

  require(accountId: string, id: string | null, sentId?: string): Promise<DownloadTaskRow> {
    return this.store.require(accountId, id, sentId);
  }

  getMany(accountId: string, ids: readonly (string | null)[]): Promise<(DownloadTaskRow | null)[]> {
    return this.store.getMany(accountId, ids);
  }

  list(accountId: string, options: { state?: DownloadTaskState | null; first: number; after?: string | null }): Promise<KeysetPage<DownloadTaskRow>> {
    return keysetPage<DownloadTaskRow>(this.db, {
      scope: DOWNLOAD_TASK_TOPIC,
      table: downloadTasks,
      createdAt: downloadTasks.createdAt,
      id: downloadTasks.id,
      where: [eq(downloadTasks.accountId, accountId), options.state ? eq(downloadTasks.status, options.state) : undefined],
      first: options.first,
      after: options.after,
    });
  }

  /** Ends a PENDING or IN_PROGRESS task as FAILED/CANCELLED; a running worker stops within 250 ms and deletes its partial object. */
  async cancel(accountId: string, id: string | null, sentId?: string): Promise<DownloadTaskRow> {
    const current = await this.require(accountId, id, sentId);
    const row = await this.finish(current, ['PENDING', 'IN_PROGRESS'], { status: 'FAILED', errorCode: 'CANCELLED', errorMessage: 'The download task was cancelled' });
    if (row) return row;
    const now = await this.require(accountId, current.id);
    throw new ConflictError(`Download task ${sentId ?? id} is already ${now.status}`);
  }

  // ---- worker-facing ----

  driverFor(row: Pick<DownloadTaskRow, 'destinationUrl' | 'destinationEndpoint' | 'destinationRegion'>): StorageDriver {
    return this.deps.storage.forDestination({ url: row.destinationUrl, endpoint: row.destinationEndpoint, region: row.destinationRegion });
  }

  /** The key under the destination: prefix + (objectName or task id) + extension (+ .gz). */
  objectKeyFor(row: DownloadTaskRow, ext: string | undefined): string {
    const name = row.input.storage?.objectName ?? row.id;
    const withExt = ext && !name.toLowerCase().endsWith(`.${ext}`) ? `${name}.${ext}` : name;
    const stored = row.compressed ? `${withExt}.gz` : withExt;
    // Without a destination the task lands in the gateway's own storage, under the one key scheme.
    return row.input.storage ? stored : objectKey('downloads', row.accountId, row.id, stored);
  }

  begin(accountId: string, id: string): Promise<DownloadTaskRow | undefined> {
    return this.store.move({
      accountId,
      id,
      from: ['PENDING', 'IN_PROGRESS'],
      set: { status: 'IN_PROGRESS', stage: 'DOWNLOADING', startedAt: sql`coalesce(${downloadTasks.startedAt}, now())`, attempts: sql`${downloadTasks.attempts} + 1`, bytesReceived: 0, heartbeatAt: new Date() } as never,
    });
  }

  /** `fence` (the job's lease check) runs in the recording transaction: a worker taken over from records nothing. */
  succeed(row: DownloadTaskRow, key: string, stored: PutResult, contentType: string, received: number, fence?: (tx: Tx) => Promise<void>): Promise<DownloadTaskRow | undefined> {
    const result: DownloadTaskResult = {
      url: `${row.destinationUrl}${key}`,
      key,
      size: stored.size,
      contentType,
      contentEncoding: row.compressed ? 'gzip' : null,
      etag: stored.etag,
      sha256: stored.sha256,
    };
    return this.finish(row, ['IN_PROGRESS'], { status: 'SUCCESS', objectKey: key, result, bytesReceived: received, bytesTotal: received, errorCode: null, errorMessage: null }, fence);
  }

  fail(row: DownloadTaskRow, error: JobError, fence?: (tx: Tx) => Promise<void>): Promise<DownloadTaskRow | undefined> {
    return this.finish(row, ['IN_PROGRESS'], { status: 'FAILED', errorCode: error.code, errorMessage: error.message }, fence);
  }

  private finish(row: Pick<DownloadTaskRow, 'accountId' | 'id'>, from: DownloadTaskState[], changes: Partial<DownloadTaskRow> & { status: 'SUCCESS' | 'FAILED' }, fence?: (tx: Tx) => Promise<void>): Promise<DownloadTaskRow | undefined> {
    return this.store.move({
      accountId: row.accountId,
      id: row.id,
      from,
      set: { ...changes, stage: 'DONE', finishedAt: new Date() },
      prepare: fence && (async (tx) => void (await fence(tx))),
      after: (tx, done) => this.callBack(tx, done),
    });
  }

  /** The reference's callback: the task (without the data) POSTed, signed and retried like any webhook. */
  private async callBack(tx: Tx, row: DownloadTaskRow): Promise<void> {
    if (!row.input.callbackUrl) return;
    await this.deps.webhooks.enqueue(tx, {
      accountId: row.accountId,
      url: row.input.callbackUrl,
      eventType: row.status === 'SUCCESS' ? 'download_task.completed' : 'download_task.failed',
      payload: referenceTask(row, this.deps.config.publicUrl),
    });
  }
}
