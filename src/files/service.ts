// The only writer of `files`. Every method is scoped by account; every state
// change is the job core's guarded transition, which publishes its event (and
// enqueues follow-up work) in the same transaction, so two racing callers
// cannot both win and nothing is announced that did not commit.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Config } from '../platform/config.js';
import type { Db, Tx } from '../platform/db/client.js';
import { keysetPage, type KeysetPage } from '../platform/db/paging.js';
import { ConflictError, LimitExceededError, NotFoundError, ValidationError } from '../platform/errors.js';
import type { EventBridge } from '../platform/events/bridge.js';
import { isUuid } from '../platform/ids.js';
import type { ImageWork } from '../platform/images/work.js';
import { sniffMime } from '../platform/net/sniff.js';
import type { JobQueue } from '../platform/queue/queue.js';
import type { PutResult, SignedPut, SignedUrl } from '../platform/storage/driver.js';
import { objectKey } from '../platform/storage/keys.js';
import type { Storage } from '../platform/storage/setup.js';
import { JobStore } from '../jobs/store.js';
import { validateEntityId, type EntityType } from './entity-types.js';
import { files, type FileRow, type FileStatus } from './tables.js';

export const FILE_TOPIC = 'file';
/** Sweeps are batched per window; a sweep runs this long after the window's last upload expires. */
export const SWEEP_WINDOW_SECONDS = 60;

export const DEFAULT_CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;

/** Upload links last this much longer for cleanup: a PUT that started just before its link expired may still land. */
export const LATE_UPLOAD_GRACE_SECONDS = 15 * 60;

/** Where an upload lands, and the only key an upload link can write. */
export const stagingKey = (accountId: string, fileId: string) => objectKey('files', accountId, fileId, 'upload');
/** The file's own copy: processing copies the staged upload here and checks this copy; no link writes it. */
export const originalKey = (accountId: string, fileId: string) => objectKey('files', accountId, fileId);
export const thumbnailKey = (accountId: string, fileId: string) => objectKey('files', accountId, fileId, 'thumbnail.webp');

export interface NewUpload {
  entityType: EntityType;
  entityId: string;
  contentType: string;
  fileSize: number;
  fileName?: string | null;
}

export type ProcessedFields = Pick<FileRow, 'objectKey' | 'contentType' | 'width' | 'height' | 'thumbnailKey' | 'blurhash' | 'dominantColor'>;

export interface FileDeps {
  database: { db: Db };
  config: Config;
  events: Pick<EventBridge, 'publishChange'>;
  queue: Pick<JobQueue, 'send'>;
  storage: Pick<Storage, 'driver' | 'forUrl' | 'onLocalPut' | 'guardLocalPut'>;
  images: ImageWork;
}

export class FileService {
  readonly allowedContentTypes: readonly string[];
  readonly store: JobStore<typeof files>;
  private readonly db: Db;

  constructor(
    private readonly deps: FileDeps,
    options: { allowedContentTypes?: readonly string[] } = {},
  ) {
    this.db = deps.database.db;
    this.allowedContentTypes = options.allowedContentTypes ?? DEFAULT_CONTENT_TYPES;
    this.store = new JobStore(deps, files, {
      topic: FILE_TOPIC,
      what: 'File',
      runningStatus: 'PROCESSING',
      eventData: (row) => ({ entityType: row.entityType, entityId: row.entityId }),
    });
    deps.storage.guardLocalPut((key) => this.checkLocalPut(key));
    deps.storage.onLocalPut((key, result) => this.onLocalPut(key, result));
  }

  private get maxBytes() {
    return this.deps.config.limits.maxFileBytes;
  }

  /** Image decoding within the process's caps (processing uses it). */
  get images(): ImageWork {
    return this.deps.images;
  }

  driverFor(file: Pick<FileRow, 'store'>) {
    return this.deps.storage.forUrl(file.store);
  }

  private checkNew(input: Omit<NewUpload, 'fileSize' | 'contentType'>): void {
    validateEntityId(input.entityType, input.entityId);
    if (input.fileName != null && (input.fileName.length > 255 || /[\u0000-\u001f\u007f/\\]/.test(input.fileName))) {
      throw new ValidationError('fileName', 'at most 255 characters, no control characters or slashes');
    }
  }

  private checkSize(size: number, field: string): void {
    if (!Number.isSafeInteger(size) || size <= 0) throw new ValidationError(field, 'must be a positive number of bytes');
    if (size > this.maxBytes) throw new LimitExceededError(`${field}: ${size} bytes is over the ${this.maxBytes} byte limit`);
  }

  /** Signs a direct upload and records the file as UPLOADING. */
  async createUpload(accountId: string, input: NewUpload): Promise<{ file: FileRow; upload: SignedPut }> {
    this.checkNew(input);
    if (!this.allowedContentTypes.includes(input.contentType)) {
      throw new ValidationError('contentType', `must be one of ${this.allowedContentTypes.join(', ')}`);
    }
    this.checkSize(input.fileSize, 'fileSize');
    const id = randomUUID();
    const key = stagingKey(accountId, id);
    const { config, queue, storage } = this.deps;
    const upload = await storage.driver.signedPutUrl(key, { expiresInSeconds: config.limits.uploadTtlSeconds, contentType: input.contentType, contentLength: input.fileSize });
    const file = await this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(files)
        .values({ id, accountId, entityType: input.entityType, entityId: input.entityId, contentType: input.contentType, declaredSize: input.fileSize, fileName: input.fileName ?? null, status: 'UPLOADING', store: storage.driver.location, objectKey: key, uploadExpiresAt: upload.expiresAt })
        .returning();
      await this.store.announce(tx, row!, 'CREATED');
      // One sweep per window, due once every upload of the window has expired.
      await queue.send('file-sweep', {}, { tx, startAfter: config.limits.uploadTtlSeconds + SWEEP_WINDOW_SECONDS, singletonKey: 'file-sweep', singletonSeconds: SWEEP_WINDOW_SECONDS });
      return row!;
    });
    return { file, upload };
  }

  /** The client says its PUT is done: check the object, then UPLOADED and queued for processing. */
  async completeUpload(accountId: string, id: string): Promise<FileRow> {
    const file = await this.require(accountId, id);
    if (file.status !== 'UPLOADING') throw new ConflictError(`File ${id} is ${file.status}, not UPLOADING`);
    if (file.uploadExpiresAt && file.uploadExpiresAt.getTime() < Date.now()) throw new ConflictError(`File ${id}: the upload expired at ${file.uploadExpiresAt.toISOString()}`);
    const head = await this.driverFor(file).head(file.objectKey);
    if (!head) throw new ConflictError(`File ${id}: nothing has been uploaded yet`);
    if (head.size !== file.declaredSize) throw new ConflictError(`File ${id}: uploaded ${head.size} bytes but declared ${file.declaredSize}`);
    const done = await this.markUploaded(file, head.size);
    if (!done) throw new ConflictError(`File ${id} is no longer UPLOADING`);
    return done;
  }

  /**
   * Before a PUT through the gateway's own signed route (local storage)
   * stores anything: a link writes only while its file is UPLOADING. The link
   * stays validly signed until it expires, so this is what makes it write once.
   */
  private async checkLocalPut(key: string): Promise<void> {
    const [area, accountId, id] = key.split('/');
    if (area !== 'files') return;
    const file = accountId && isUuid(accountId) && id ? await this.get(accountId, id) : undefined;
    if (!file) throw new ConflictError('This upload link is closed: its file was deleted');
    if (file.status !== 'UPLOADING') throw new ConflictError(`File ${file.id} is ${file.status}: its upload link no longer accepts bytes`);
    if (file.objectKey !== key) throw new ConflictError(`This upload link is not the one of file ${file.id}`);
  }

  /** A direct upload landed through the gateway's own signed PUT route (local storage). */
  private async onLocalPut(key: string, result: PutResult): Promise<void> {
    if (!key.startsWith('files/')) return;
    const [file] = await this.db.select().from(files).where(and(eq(files.store, this.deps.storage.driver.location), eq(files.objectKey, key), eq(files.status, 'UPLOADING')));
    if (file) await this.markUploaded(file, result.size);
  }

  private markUploaded(file: FileRow, size: number): Promise<FileRow | undefined> {
    return this.store.move({
      accountId: file.accountId,
      id: file.id,
      from: ['UPLOADING'],
      // uploadExpiresAt stays: the staged key is deleted again once the link can no longer write.
      set: { status: 'UPLOADED', fileSize: size },
      after: (tx, row) => this.enqueueProcessing(tx, row),
    });
  }

  private async enqueueProcessing(tx: Tx, row: FileRow): Promise<void> {
    await this.deps.queue.send('file-process', { accountId: row.accountId, fileId: row.id }, { tx });
  }

  /** One-step upload of a small file through the gateway; nothing is left behind on failure. */
  async uploadDirect(accountId: string, input: { entityType: EntityType; entityId: string; file: File }): Promise<FileRow> {
    this.checkNew({ ...input, fileName: input.file.name || null });
    this.checkSize(input.file.size, 'file');
    // Bounded by checkSize above; the multipart parser holds the part in memory already.
    const bytes = Buffer.from(await input.file.arrayBuffer());
    const sniffed = (await sniffMime(bytes.subarray(0, 4100)))?.mime;
    const declared = input.file.type.split(';')[0]!.trim().toLowerCase();
    // Multipart clients often send application/octet-stream; trust the bytes then.
    const contentType = [declared, sniffed].find((t): t is string => !!t && this.allowedContentTypes.includes(t));
    if (!contentType) throw new ValidationError('file', `must be one of ${this.allowedContentTypes.join(', ')} (got ${declared || 'no type'})`);
    const id = randomUUID();
    const key = stagingKey(accountId, id);
    const driver = this.deps.storage.driver;
    const put = await driver.put(key, Readable.from([bytes]), { contentType, maxBytes: this.maxBytes });
    try {
      return await this.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(files)
          .values({ id, accountId, entityType: input.entityType, entityId: input.entityId, contentType, declaredSize: input.file.size, fileSize: put.size, fileName: input.file.name || null, status: 'UPLOADED', store: driver.location, objectKey: key })
          .returning();
        await this.store.announce(tx, row!, 'CREATED');
        await this.enqueueProcessing(tx, row!);
        return row!;
      });
    } catch (err) {
      await driver.delete(key).catch(() => {});
      throw err;
    }
  }

  get(accountId: string, id: string): Promise<FileRow | undefined> {
    return this.store.get(accountId, id);
  }

  require(accountId: string, id: string): Promise<FileRow> {
    return this.store.require(accountId, id);
  }

  getMany(accountId: string, ids: readonly (string | null)[]): Promise<(FileRow | null)[]> {
    return this.store.getMany(accountId, ids);
  }

  /** Newest first, keyset-paged on (created_at, id). */
  listByEntity(accountId: string, q: { entityType: EntityType; entityId: string; first: number; after?: string | null; status?: FileStatus | null }): Promise<KeysetPage<FileRow>> {
    validateEntityId(q.entityType, q.entityId);
    return keysetPage<FileRow>(this.db, {
      scope: FILE_TOPIC,
      table: files,
      createdAt: files.createdAt,
      id: files.id,
      where: [eq(files.accountId, accountId), eq(files.entityType, q.entityType), eq(files.entityId, q.entityId), q.status ? eq(files.status, q.status) : undefined],
      first: q.first,
      after: q.after,
    });
  }

  /** Removes the record at once; the objects go through the retrying storage-delete queue. */
  async delete(accountId: string, id: string): Promise<FileRow> {
    const existing = await this.require(accountId, id);
    return this.db.transaction(async (tx) => {
      const [row] = await tx.delete(files).where(and(eq(files.accountId, accountId), eq(files.id, existing.id))).returning();
      if (!row) throw new NotFoundError('File', id);
      await this.retireStaging(tx, row, [row.objectKey, originalKey(accountId, row.id), thumbnailKey(accountId, row.id)]);
      await this.store.announce(tx, row, 'DELETED');
      return row;
    });
  }

  async signedLink(file: FileRow, kind: 'download' | 'thumbnail', expiresInSeconds: number): Promise<SignedUrl | null> {
    if (kind === 'download' && file.status !== 'READY') return null;
    if (kind === 'thumbnail' && !file.thumbnailKey) return null;
    const driver = this.driverFor(file);
    if (kind === 'thumbnail') return driver.signedGetUrl(file.thumbnailKey!, { expiresInSeconds, contentType: 'image/webp' });
    return driver.signedGetUrl(file.objectKey, { expiresInSeconds, contentType: file.contentType, downloadFileName: file.fileName ?? undefined });
  }

  // ---- worker-facing transitions ----

  /** UPLOADED → PROCESSING; a retried job finds it PROCESSING already and carries on. */
  async beginProcessing(accountId: string, id: string): Promise<FileRow | undefined> {
    const moved = await this.store.move({ accountId, id, from: ['UPLOADED'], set: { status: 'PROCESSING', stage: 'PROBING', startedAt: new Date(), attempts: sql`${files.attempts} + 1` as never } });
    if (moved) return moved;
    const current = await this.get(accountId, id);
    return current?.status === 'PROCESSING' ? current : undefined;
  }

  /**
   * Copies the staged upload to the file's own key while the file is
   * PROCESSING, holding its row meanwhile: no copy can land once the file is
   * READY or FAILED (those transitions wait for the row). False when the
   * file is no longer PROCESSING.
   */
  async promoteUpload(file: FileRow): Promise<boolean> {
    const target = originalKey(file.accountId, file.id);
    return this.db.transaction(async (tx) => {
      const [locked] = await tx
        .select({ objectKey: files.objectKey })
        .from(files)
        .where(and(eq(files.accountId, file.accountId), eq(files.id, file.id), eq(files.status, 'PROCESSING')))
        .for('update');
      if (!locked) return false;
      // Rows from before staging keys were written by their link directly: nothing to copy.
      if (locked.objectKey !== target) await this.driverFor(file).copy(locked.objectKey, target);
      return true;
    });
  }

  /**
   * PROCESSING → READY. `confirm` runs with the row locked, before it is
   * written, and throws when the checked object changed meanwhile (a racing
   * attempt copied again). Undefined when the file is no longer PROCESSING;
   * when it was deleted meanwhile, what processing stored is removed.
   */
  async markReady(accountId: string, id: string, fields: ProcessedFields, confirm?: () => Promise<void>): Promise<FileRow | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await this.store.transition(tx, {
        accountId,
        id,
        from: ['PROCESSING'],
        set: { status: 'READY', stage: 'DONE', errorCode: null, errorMessage: null, finishedAt: new Date(), ...fields },
        prepare: async () => void (await confirm?.()),
        after: (tx, row) => this.retireStaging(tx, row),
      });
      if (!row && !(await this.get(accountId, id))) {
        const keys = [fields.objectKey, ...(fields.thumbnailKey ? [fields.thumbnailKey] : [])];
        await this.deleteObjects(tx, { accountId, store: this.deps.storage.driver.location }, keys);
      }
      return row;
    });
  }

  /** → FAILED; the upload, any copy of it and a racing attempt's thumbnail go (nothing of a failed file is served). */
  markFailed(accountId: string, id: string, reason: string, from: FileStatus[] = ['UPLOADED', 'PROCESSING'], code = 'UNPROCESSABLE'): Promise<FileRow | undefined> {
    return this.store.move({
      accountId,
      id,
      from,
      set: { status: 'FAILED', stage: 'DONE', errorCode: code, errorMessage: reason.slice(0, 1000), finishedAt: new Date() },
      after: (tx, row) => this.retireStaging(tx, row, [row.objectKey, originalKey(row.accountId, row.id), thumbnailKey(row.accountId, row.id)]),
    });
  }

  /** Uploads never completed by their expiry: FAILED, and their objects (if any) deleted. */
  async sweepExpiredUploads(now = new Date(), batch = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const swept = await this.db.transaction(async (tx) => {
        const due = tx.select({ id: files.id }).from(files).where(and(eq(files.status, 'UPLOADING'), lte(files.uploadExpiresAt, now))).limit(batch).for('update', { skipLocked: true });
        const rows = await tx
          .update(files)
          .set({ status: 'FAILED', stage: 'DONE', errorCode: 'UPLOAD_EXPIRED', errorMessage: 'the upload was not completed before it expired', finishedAt: sql`now()`, updatedAt: sql`now()` })
          .where(and(inArray(files.id, due), eq(files.status, 'UPLOADING')))
          .returning();
        for (const row of rows) {
          await this.retireStaging(tx, row, [row.objectKey]);
          await this.store.announce(tx, row);
        }
        return rows.length;
      });
      total += swept;
      if (swept < batch) return total;
    }
  }

  private async deleteObjects(tx: Tx, file: Pick<FileRow, 'accountId' | 'store'>, keys: string[], startAfter?: Date): Promise<void> {
    for (const key of new Set(keys)) await this.deps.queue.send('storage-delete', { accountId: file.accountId, storage: file.store, key }, startAfter ? { tx, startAfter } : { tx });
  }

  /**
   * The file is done with its staging key: delete it (with `alsoNow`) at
   * once, and again once its link can no longer write (S3 and GCS accept a
   * presigned PUT until then, and a PUT that began in time may end later).
   */
  private async retireStaging(tx: Tx, file: Pick<FileRow, 'accountId' | 'id' | 'store' | 'uploadExpiresAt'>, alsoNow: string[] = []): Promise<void> {
    const key = stagingKey(file.accountId, file.id);
    await this.deleteObjects(tx, file, [key, ...alsoNow]);
    const linkDead = file.uploadExpiresAt && new Date(file.uploadExpiresAt.getTime() + LATE_UPLOAD_GRACE_SECONDS * 1000);
    if (linkDead && linkDead.getTime() > Date.now()) await this.deleteObjects(tx, file, [key], linkDead);
  }
}
