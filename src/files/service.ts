// The only writer of `files`. Every method is scoped by account; every state
// change is a guarded UPDATE … WHERE status IN (expected) that publishes its
// event (and enqueues follow-up work) in the same transaction, so two racing
// callers cannot both win and nothing is announced that did not commit.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { and, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { ConflictError, LimitExceededError, NotFoundError, ValidationError } from '../errors.js';
import { sniffMime } from '../net/sniff.js';
import type { AppServices } from '../services.js';
import type { PutResult, SignedPut, SignedUrl } from '../storage/driver.js';
import type { Storage } from '../storage/setup.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { validateEntityId, type EntityType } from './entity-types.js';
import { DEFAULT_CONTENT_TYPES, isUuid, originalKey, thumbnailKey } from './keys.js';
import { files, type FileRow, type FileStatus } from './tables.js';

export const FILE_TOPIC = 'file';
/** Sweeps are batched per window; a sweep runs this long after the window's last upload expires. */
export const SWEEP_WINDOW_SECONDS = 60;

export interface NewUpload {
  entityType: EntityType;
  entityId: string;
  contentType: string;
  fileSize: number;
  fileName?: string | null;
}

export interface FilePage {
  rows: FileRow[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export type ProcessedFields = Pick<FileRow, 'contentType' | 'width' | 'height' | 'thumbnailKey' | 'blurhash' | 'dominantColor'>;

export class FileService {
  readonly allowedContentTypes: readonly string[];

  constructor(
    private readonly storage: Storage,
    private readonly app: () => Pick<AppServices, 'database' | 'queue' | 'events' | 'config'>,
    options: { allowedContentTypes?: readonly string[] } = {},
  ) {
    this.allowedContentTypes = options.allowedContentTypes ?? DEFAULT_CONTENT_TYPES;
    storage.onLocalPut((key, result) => this.onLocalPut(key, result));
  }

  private get db() {
    return this.app().database.db;
  }

  private get maxBytes() {
    return this.app().config.limits.maxFileBytes;
  }

  driverFor(file: Pick<FileRow, 'store'>) {
    return this.storage.forUrl(file.store);
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
    const key = originalKey(accountId, id);
    const { config, queue } = this.app();
    const upload = await this.storage.driver.signedPutUrl(key, { expiresInSeconds: config.limits.uploadTtlSeconds, contentType: input.contentType, contentLength: input.fileSize });
    const file = await this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(files)
        .values({ id, accountId, entityType: input.entityType, entityId: input.entityId, contentType: input.contentType, declaredSize: input.fileSize, fileName: input.fileName ?? null, status: 'UPLOADING', store: this.storage.driver.location, objectKey: key, uploadExpiresAt: upload.expiresAt })
        .returning();
      await this.announce(tx, row!);
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

  /** A direct upload landed through the gateway's own signed PUT route (local storage). */
  private async onLocalPut(key: string, result: PutResult): Promise<void> {
    if (!key.startsWith('files/')) return;
    const [file] = await this.db.select().from(files).where(and(eq(files.store, this.storage.driver.location), eq(files.objectKey, key), eq(files.status, 'UPLOADING')));
    if (file) await this.markUploaded(file, result.size);
  }

  private markUploaded(file: FileRow, size: number): Promise<FileRow | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await this.transition(tx, file.accountId, file.id, ['UPLOADING'], { status: 'UPLOADED', fileSize: size, uploadExpiresAt: null });
      if (row) await this.app().queue.send('file-process', { accountId: row.accountId, fileId: row.id }, { tx });
      return row;
    });
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
    const key = originalKey(accountId, id);
    const driver = this.storage.driver;
    const put = await driver.put(key, Readable.from([bytes]), { contentType, maxBytes: this.maxBytes });
    try {
      return await this.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(files)
          .values({ id, accountId, entityType: input.entityType, entityId: input.entityId, contentType, declaredSize: input.file.size, fileSize: put.size, fileName: input.file.name || null, status: 'UPLOADED', store: driver.location, objectKey: key })
          .returning();
        await this.announce(tx, row!);
        await this.app().queue.send('file-process', { accountId, fileId: id }, { tx });
        return row!;
      });
    } catch (err) {
      await driver.delete(key).catch(() => {});
      throw err;
    }
  }

  async get(accountId: string, id: string): Promise<FileRow | undefined> {
    // Malformed ids answer like missing ones rather than as a database error.
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.select().from(files).where(and(eq(files.accountId, accountId), eq(files.id, id)));
    return row;
  }

  async require(accountId: string, id: string): Promise<FileRow> {
    const row = await this.get(accountId, id);
    if (!row) throw new NotFoundError('File', id);
    return row;
  }

  /** Newest first, keyset-paged on (created_at, id). */
  async listByEntity(accountId: string, q: { entityType: EntityType; entityId: string; first: number; after?: string | null; status?: FileStatus | null }): Promise<FilePage> {
    validateEntityId(q.entityType, q.entityId);
    const cursor = q.after ? decodeCursor(q.after) : undefined;
    const rows = await this.db
      .select()
      .from(files)
      .where(
        and(
          eq(files.accountId, accountId),
          eq(files.entityType, q.entityType),
          eq(files.entityId, q.entityId),
          q.status ? eq(files.status, q.status) : undefined,
          cursor ? sql`(${files.createdAt}, ${files.id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(files.createdAt), desc(files.id))
      .limit(q.first + 1);
    const page = rows.slice(0, q.first);
    const last = page.at(-1);
    return { rows: page, hasNextPage: rows.length > q.first, endCursor: last ? encodeCursor(last) : null };
  }

  /** Removes the record at once; the objects go through the retrying storage-delete queue. */
  async delete(accountId: string, id: string): Promise<FileRow> {
    if (!isUuid(id)) throw new NotFoundError('File', id);
    return this.db.transaction(async (tx) => {
      const [row] = await tx.delete(files).where(and(eq(files.accountId, accountId), eq(files.id, id))).returning();
      if (!row) throw new NotFoundError('File', id);
      await this.deleteObjects(tx, row, [row.objectKey, thumbnailKey(accountId, id)]);
      await this.announce(tx, row, 'deleted');
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
    const moved = await this.db.transaction((tx) => this.transition(tx, accountId, id, ['UPLOADED'], { status: 'PROCESSING' }));
    if (moved) return moved;
    const current = await this.get(accountId, id);
    return current?.status === 'PROCESSING' ? current : undefined;
  }

  /** PROCESSING → READY. Undefined when the file was deleted meanwhile (its thumbnail is then removed). */
  async markReady(accountId: string, id: string, fields: ProcessedFields): Promise<FileRow | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await this.transition(tx, accountId, id, ['PROCESSING'], { status: 'READY', failureReason: null, ...fields });
      if (!row && fields.thumbnailKey && !(await this.get(accountId, id))) {
        await this.deleteObjects(tx, { accountId, store: this.storage.driver.location }, [fields.thumbnailKey]);
      }
      return row;
    });
  }

  async markFailed(accountId: string, id: string, reason: string, from: FileStatus[] = ['UPLOADED', 'PROCESSING']): Promise<FileRow | undefined> {
    return this.db.transaction((tx) => this.transition(tx, accountId, id, from, { status: 'FAILED', failureReason: reason.slice(0, 1000) }));
  }

  /** Uploads never completed by their expiry: FAILED, and their objects (if any) deleted. */
  async sweepExpiredUploads(now = new Date(), batch = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const swept = await this.db.transaction(async (tx) => {
        const due = tx.select({ id: files.id }).from(files).where(and(eq(files.status, 'UPLOADING'), lte(files.uploadExpiresAt, now))).limit(batch).for('update', { skipLocked: true });
        const rows = await tx
          .update(files)
          .set({ status: 'FAILED', failureReason: 'the upload was not completed before it expired', uploadExpiresAt: null, updatedAt: sql`now()` })
          .where(and(inArray(files.id, due), eq(files.status, 'UPLOADING')))
          .returning();
        for (const row of rows) {
          await this.deleteObjects(tx, row, [row.objectKey]);
          await this.announce(tx, row);
        }
        return rows.length;
      });
      total += swept;
      if (swept < batch) return total;
    }
  }

  private async transition(tx: Tx, accountId: string, id: string, from: FileStatus[], set: Partial<FileRow> & { status: FileStatus }): Promise<FileRow | undefined> {
    const [row] = await tx
      .update(files)
      .set({ ...set, updatedAt: sql`now()` })
      .where(and(eq(files.accountId, accountId), eq(files.id, id), inArray(files.status, from)))
      .returning();
    if (row) await this.announce(tx, row);
    return row;
  }

  private announce(tx: Tx, row: FileRow, type = row.status.toLowerCase()): Promise<void> {
    return this.app().events.publish(tx, { accountId: row.accountId, topic: FILE_TOPIC, type, id: row.id, data: { status: row.status, entityType: row.entityType, entityId: row.entityId } });
  }

  private async deleteObjects(tx: Tx, file: Pick<FileRow, 'accountId' | 'store'>, keys: string[]): Promise<void> {
    for (const key of keys) await this.app().queue.send('storage-delete', { accountId: file.accountId, storage: file.store, key }, { tx });
  }
}
