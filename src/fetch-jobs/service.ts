// FetchJobService: the only writer of fetch_jobs (with its worker). Every
// method is scoped by account; another account's id behaves like a missing one.
import { createHash } from 'node:crypto';
import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { isValidMimePattern } from '../net/index.js';
import type { JobContext } from '../queue/worker.js';
import type { QueuePayloads } from '../queue/registry.js';
import type { AppServices } from '../services.js';
import { validateWebhookUrl } from '../webhooks/service.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { UrlMetadata } from './extractors/types.js';
import { inspect } from './inspect.js';
import { downloadName, finish, publishState } from './state.js';
import { fetchJobs, type FetchJobRow, type FetchJobStatus } from './tables.js';
import { egressPolicy, runFetchJob } from './worker.js';

export interface CreateFetchJobInput {
  url: string;
  webhookUrl?: string | null;
  fileName?: string | null;
  expectedMimeTypes?: string[] | null;
  idempotencyKey?: string | null;
}

export interface FetchJobPage {
  rows: FetchJobRow[];
  hasNextPage: boolean;
  endCursor: string | null;
}

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

export function checkUrl(url: string, field = 'url'): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(field, 'must be an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ValidationError(field, 'must be http or https');
  if (url.length > 4096) throw new ValidationError(field, 'at most 4096 characters');
}

export function checkMimePatterns(patterns: readonly string[] | null | undefined): void {
  for (const p of patterns ?? []) if (!isValidMimePattern(p)) throw new ValidationError('expectedMimeTypes', `"${p}" is not a MIME type or pattern like image/*`);
}

export class FetchJobService {
  // Lazy: the service is built inside the services object it depends on.
  constructor(private readonly app: () => AppServices) {}

  private get db() {
    return this.app().database.db;
  }

  /** What a fetch of `url` would find and whether it would be allowed; stores nothing. */
  async inspectUrl(url: string, expectedMimeTypes?: string[] | null): Promise<UrlMetadata> {
    checkUrl(url);
    checkMimePatterns(expectedMimeTypes);
    const app = this.app();
    const { metadata } = await inspect(url, { policy: egressPolicy(app), maxBytes: app.config.limits.maxFetchBytes, expectedMimeTypes });
    return metadata;
  }

  async create(accountId: string, input: CreateFetchJobInput): Promise<FetchJobRow> {
    checkUrl(input.url);
    if (input.webhookUrl) validateWebhookUrl(input.webhookUrl);
    checkMimePatterns(input.expectedMimeTypes);
    const expected = input.expectedMimeTypes?.map((m) => m.trim().toLowerCase()) ?? null;
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
      await this.app().queue.send('fetch-job', { accountId, fetchJobId: row.id }, { tx, retryDelay: this.app().config.fetchRetryDelaySeconds });
      await publishState(this.app(), tx, row, 'created');
      return row;
    });
    if (created) return created;
    // Only an idempotency key can make the insert a no-op: answer with its job.
    const [existing] = await this.db.select().from(fetchJobs).where(and(eq(fetchJobs.accountId, accountId), eq(fetchJobs.idempotencyKey, key!)));
    if (!existing) throw new ConflictError('A fetch job with this idempotency key is being created; retry');
    if (existing.inputHash !== inputHash) throw new ConflictError(`Idempotency key "${key}" was already used with different input`);
    return existing;
  }

  async get(accountId: string, id: string): Promise<FetchJobRow | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.db.select().from(fetchJobs).where(and(eq(fetchJobs.id, id), eq(fetchJobs.accountId, accountId)));
    return row ?? null;
  }

  async require(accountId: string, id: string): Promise<FetchJobRow> {
    const row = await this.get(accountId, id);
    if (!row) throw new NotFoundError('Fetch job', id);
    return row;
  }

  async getMany(accountId: string, ids: readonly string[]): Promise<(FetchJobRow | null)[]> {
    const valid = ids.filter(isUuid);
    if (!valid.length) return ids.map(() => null);
    const rows = await this.db.select().from(fetchJobs).where(and(eq(fetchJobs.accountId, accountId), inArray(fetchJobs.id, valid)));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** Newest first; one statement per page. */
  async list(accountId: string, options: { status?: FetchJobStatus | null; first: number; after?: string | null }): Promise<FetchJobPage> {
    const where: SQL[] = [eq(fetchJobs.accountId, accountId)];
    if (options.status) where.push(eq(fetchJobs.status, options.status));
    if (options.after) {
      const c = decodeCursor(options.after);
      where.push(or(lt(fetchJobs.createdAt, c.createdAt), and(eq(fetchJobs.createdAt, c.createdAt), lt(fetchJobs.id, c.id)))!);
    }
    const rows = await this.db
      .select()
      .from(fetchJobs)
      .where(and(...where))
      .orderBy(desc(fetchJobs.createdAt), desc(fetchJobs.id))
      .limit(options.first + 1);
    const hasNextPage = rows.length > options.first;
    const page = rows.slice(0, options.first);
    return { rows: page, hasNextPage, endCursor: page.length ? encodeCursor(page[page.length - 1]) : null };
  }

  /** Stops a PENDING or RUNNING job: FAILED/CANCELLED now; a running worker notices within 250 ms and removes its partial object. */
  async cancel(accountId: string, id: string): Promise<FetchJobRow> {
    const current = await this.require(accountId, id);
    const row = await finish(this.app(), accountId, current.id, ['PENDING', 'RUNNING'], {
      status: 'FAILED',
      errorCode: 'CANCELLED',
      errorMessage: 'The fetch job was cancelled',
    });
    if (row) return row;
    const now = await this.require(accountId, id);
    throw new ConflictError(`Fetch job ${id} is already ${now.status}`);
  }

  /** Short-lived signed storage URL of a finished job's file; null while not SUCCESS. */
  async signedDownload(row: FetchJobRow, fileName?: string): Promise<string | null> {
    if (row.status !== 'SUCCESS') return null;
    const app = this.app();
    const item = row.mediaItemId ? await app.mediaItems.get(row.accountId, row.mediaItemId) : null;
    // The media item owns the object once it exists; its key and store win.
    const location = item?.storageLocation ?? row.storageLocation;
    const key = item?.objectKey ?? row.objectKey;
    if (!location || !key || (row.mediaItemId && !item)) throw new NotFoundError('Fetched file', row.id);
    const signed = await app.storage.forUrl(location).signedGetUrl(key, { expiresInSeconds: 300, downloadFileName: fileName || downloadName(row), contentType: item?.mimeType });
    return signed.url;
  }

  /** `fetch-job` queue handler. */
  run(payload: QueuePayloads['fetch-job'], job: JobContext): Promise<void> {
    return runFetchJob(this.app(), payload, job);
  }
}
