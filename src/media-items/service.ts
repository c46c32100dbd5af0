// The media library: the only writer of media_items. Every method is scoped by
// the caller's account; another account's id behaves like a missing one.
import type postgres from 'postgres';
import { randomUUID } from 'node:crypto';
import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Config } from '../platform/config.js';
import type { Db, Tx } from '../platform/db/client.js';
import { GoneError, LimitExceededError, NotFoundError } from '../platform/errors.js';
import type { EventBridge } from '../platform/events/bridge.js';
import type { ImageWork } from '../platform/images/work.js';
import type { ChangeType } from '../platform/events/publish.js';
import type { Logger } from '../platform/logger.js';
import type { JobQueue } from '../platform/queue/queue.js';
import { ObjectTooLargeError } from '../platform/storage/errors.js';
import { resolveSigningSecret, type Storage } from '../platform/storage/setup.js';
import { linkLifetime, objectKey as storageKey } from '../platform/storage/keys.js';
import { isUuid } from '../platform/ids.js';
import { listPage, type ListOptions, type ListPage } from './list.js';
import { signDownload } from './signing.js';
import { mediaItems, type MediaItem } from './tables.js';
import { runThumbnail } from './thumbnails.js';
import { fileStream, inspectHead, peek } from './upload.js';
import { checkMaxDownloads, checkMimeType, checkText, TEXT_FIELDS } from './validation.js';

/** An object already in storage that becomes a media item (see createFromStoredObject). */
export interface StoredMediaObject {
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

export const MEDIA_ITEM_TOPIC = 'media-item';
export const mediaObjectKey = (accountId: string, id: string) => storageKey('media', accountId, id);
export type MediaItemEventType = 'CREATED' | 'UPDATED' | 'DELETED' | 'THUMBNAIL_READY' | 'DOWNLOADED';

export interface MediaItemInput {
  title?: string | null;
  description?: string | null;
  metadataPrimary?: string | null;
  metadataSecondary?: string | null;
  public?: boolean | null;
  /** null: unlimited */
  maxDownloadsAllowed?: number | null;
}
export interface MediaItemUpdate extends MediaItemInput {
  mimeType?: string | null;
}

/** Who asks for a download: the owner's key, a signed link, or nobody (public items only). */
export interface DownloadAccess {
  accountId?: string;
  signed?: boolean;
}

export interface MediaItemDeps {
  database: { db: Db; sql: postgres.Sql };
  config: Config;
  storage: Pick<Storage, 'driver' | 'forUrl'>;
  images: ImageWork;
  queue: Pick<JobQueue, 'send'>;
  events: Pick<EventBridge, 'publishChange'>;
  logger: Logger;
}

/** How the media library's changes map onto the one event vocabulary. */
const CHANGE: Record<MediaItemEventType, ChangeType> = { CREATED: 'CREATED', UPDATED: 'UPDATED', DELETED: 'DELETED', THUMBNAIL_READY: 'UPDATED', DOWNLOADED: 'UPDATED' };

export class MediaItemService {
  private secret: string | undefined;
  private readonly db: Db;

  constructor(private readonly deps: MediaItemDeps) {
    this.db = deps.database.db;
  }

  private publish(tx: Db | Tx, item: Pick<MediaItem, 'accountId' | 'id'>, what: MediaItemEventType) {
    return this.deps.events.publishChange(tx, { accountId: item.accountId, topic: MEDIA_ITEM_TOPIC, type: CHANGE[what], id: item.id, data: { change: what } });
  }

  async upload(accountId: string, file: File, input: MediaItemInput = {}): Promise<MediaItem> {
    for (const field of TEXT_FIELDS) checkText(field, input[field]);
    checkMaxDownloads(input.maxDownloadsAllowed);
    const { driver } = this.deps.storage;
    const id = randomUUID();
    const objectKey = mediaObjectKey(accountId, id);
    const { head, stream } = await peek(fileStream(file));
    const inspected = await inspectHead(head);
    let stored;
    try {
      stored = await driver.put(objectKey, stream, { contentType: inspected.mimeType, maxBytes: this.deps.config.limits.maxUploadBytes });
    } catch (err) {
      stream.destroy();
      if (err instanceof ObjectTooLargeError) throw new LimitExceededError(`The upload is larger than the ${err.maxBytes}-byte limit`);
      await driver.delete(objectKey).catch(() => {});
      throw err;
    }
    try {
      return await this.db.transaction((tx) =>
        this.insertItem(tx, {
            id,
            accountId,
            objectKey,
            storeId: driver.storeId,
            storageLocation: driver.location,
            originalFileName: file.name || 'upload',
            mimeType: inspected.mimeType,
            mediaSize: stored.size,
            etag: stored.etag,
            sha256: stored.sha256,
            width: inspected.width,
            height: inspected.height,
            title: input.title ?? null,
            description: input.description ?? null,
            metadataPrimary: input.metadataPrimary ?? null,
            metadataSecondary: input.metadataSecondary ?? null,
            public: input.public ?? false,
            maxDownloadsAllowed: input.maxDownloadsAllowed ?? null,
        }),
      );
    } catch (err) {
      // The row never committed: leave no object behind it.
      await driver.delete(objectKey).catch(() => {});
      throw err;
    }
  }

  /** Inserts a row, queues its thumbnail (images) and announces CREATED, all on the caller's transaction. */
  private async insertItem(tx: Tx, values: typeof mediaItems.$inferInsert): Promise<MediaItem> {
    const [item] = await tx.insert(mediaItems).values(values).returning();
    if (item.mimeType.startsWith('image/')) await this.deps.queue.send('thumbnail', { accountId: item.accountId, mediaItemId: item.id }, { tx });
    await this.publish(tx, item, 'CREATED');
    return item;
  }

  /**
   * Takes over an object another domain already stored (a fetch job's download)
   * as a new item, inside that domain's transaction so both commit together.
   */
  createFromStoredObject(tx: Tx, input: StoredMediaObject): Promise<MediaItem> {
    return this.insertItem(tx, {
      accountId: input.accountId,
      objectKey: input.objectKey,
      storeId: input.storeId,
      storageLocation: input.storageLocation,
      originalFileName: input.originalFileName,
      mimeType: input.mimeType,
      mediaSize: input.size,
      etag: input.etag,
      sha256: input.sha256,
      width: input.width,
      height: input.height,
      title: input.title,
      description: input.description,
    });
  }

  async get(accountId: string, id: string): Promise<MediaItem | null> {
    if (!isUuid(id)) return null;
    const [item] = await this.db.select().from(mediaItems).where(and(eq(mediaItems.id, id), eq(mediaItems.accountId, accountId)));
    return item ?? null;
  }

  /** `sentId` is what the caller sent (echoed in NOT_FOUND); `id` the UUID it names, if any. */
  async require(accountId: string, id: string | null, sentId: string = id ?? ''): Promise<MediaItem> {
    const item = id ? await this.get(accountId, id) : null;
    if (!item) throw new NotFoundError('Media item', sentId);
    return item;
  }

  /** One statement for any number of ids; answers in the order asked, null where missing or unparseable. */
  async getMany(accountId: string, ids: readonly (string | null)[]): Promise<(MediaItem | null)[]> {
    const valid = ids.filter((id): id is string => !!id && isUuid(id));
    if (!valid.length) return ids.map(() => null);
    const rows = await this.db.select().from(mediaItems).where(and(eq(mediaItems.accountId, accountId), inArray(mediaItems.id, valid)));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => (id && byId.get(id)) || null);
  }

  list(accountId: string, options: ListOptions): Promise<ListPage> {
    return listPage(this.deps.database.sql, accountId, options);
  }

  async update(accountId: string, id: string | null, input: MediaItemUpdate, sentId: string = id ?? ''): Promise<MediaItem> {
    for (const field of TEXT_FIELDS) checkText(field, input[field]);
    checkMaxDownloads(input.maxDownloadsAllowed);
    if (input.mimeType != null) checkMimeType(input.mimeType);
    const changes: Partial<MediaItem> = {};
    for (const field of TEXT_FIELDS) if (input[field] !== undefined) changes[field] = input[field];
    if (input.public != null) changes.public = input.public;
    if (input.mimeType != null) changes.mimeType = input.mimeType.trim().toLowerCase();
    if (input.maxDownloadsAllowed !== undefined) changes.maxDownloadsAllowed = input.maxDownloadsAllowed;
    if (!id) throw new NotFoundError('Media item', sentId);
    return this.db.transaction(async (tx) => {
      const [item] = await tx
        .update(mediaItems)
        .set({ ...changes, timeLastUpdated: sql`greatest(now(), ${mediaItems.timeLastUpdated} + interval '1 millisecond')` })
        .where(and(eq(mediaItems.id, id), eq(mediaItems.accountId, accountId)))
        .returning();
      if (!item) throw new NotFoundError('Media item', sentId);
      await this.publish(tx, item, 'UPDATED');
      return item;
    });
  }

  /** The row goes now; its objects go through storage-delete, which retries until the store confirms. */
  async delete(accountId: string, id: string | null, sentId: string = id ?? ''): Promise<MediaItem> {
    if (!id) throw new NotFoundError('Media item', sentId);
    return this.db.transaction(async (tx) => {
      const [item] = await tx.delete(mediaItems).where(and(eq(mediaItems.id, id), eq(mediaItems.accountId, accountId))).returning();
      if (!item) throw new NotFoundError('Media item', sentId);
      for (const key of [item.objectKey, item.thumbnailKey]) {
        if (key) await this.deps.queue.send('storage-delete', { accountId, storage: item.storageLocation, key }, { tx });
      }
      await this.publish(tx, item, 'DELETED');
      return item;
    });
  }

  /** The item a download may serve, or null (which the route answers as 404 whatever the reason). */
  async findForDownload(id: string, access: DownloadAccess): Promise<MediaItem | null> {
    const [item] = await this.db.select().from(mediaItems).where(eq(mediaItems.id, id));
    if (!item) return null;
    return item.public || access.signed || item.accountId === access.accountId ? item : null;
  }

  /**
   * Takes one download off the allowance before any byte is sent; the
   * conditional update makes concurrent downloads queue on the row, so a
   * limit of N serves exactly N.
   */
  async reserveDownload(item: MediaItem): Promise<void> {
    const [row] = await this.db
      .update(mediaItems)
      .set({ timesDownloaded: sql`${mediaItems.timesDownloaded} + 1` })
      .where(and(eq(mediaItems.id, item.id), or(isNull(mediaItems.maxDownloadsAllowed), lt(mediaItems.timesDownloaded, mediaItems.maxDownloadsAllowed))))
      .returning({ id: mediaItems.id });
    if (!row) throw new GoneError(`Media item ${item.id} has reached its limit of ${item.maxDownloadsAllowed} downloads`);
  }

  /** A download that did not complete gives its reservation back. */
  async releaseDownload(item: MediaItem): Promise<void> {
    await this.db
      .update(mediaItems)
      .set({ timesDownloaded: sql`${mediaItems.timesDownloaded} - 1` })
      .where(and(eq(mediaItems.id, item.id), gt(mediaItems.timesDownloaded, 0)));
  }

  async downloadCompleted(item: MediaItem): Promise<void> {
    await this.publish(this.db, item, 'DOWNLOADED');
  }

  /** The store holding an item's objects. */
  objectOf(item: Pick<MediaItem, 'storageLocation'>) {
    return this.deps.storage.forUrl(item.storageLocation);
  }

  signedDownloadUrl(item: MediaItem, expiresIn?: number | null) {
    return signDownload(this.deps.config.publicUrl, this.signingSecret, item.id, linkLifetime(expiresIn));
  }

  async thumbnailUrl(item: MediaItem, expiresIn?: number | null) {
    const seconds = linkLifetime(expiresIn);
    if (!item.thumbnailKey) return null;
    return this.deps.storage.forUrl(item.storageLocation).signedGetUrl(item.thumbnailKey, { expiresInSeconds: seconds, contentType: 'image/webp' });
  }

  get signingSecret(): string {
    return (this.secret ??= resolveSigningSecret(this.deps.config));
  }

  /** `thumbnail` queue handler: idempotent, and leaves no thumbnail behind a deleted item. */
  async makeThumbnail(payload: { accountId: string; mediaItemId: string }, signal?: AbortSignal): Promise<void> {
    const item = await this.get(payload.accountId, payload.mediaItemId);
    if (!item || item.thumbnailKey) return;
    const made = await runThumbnail(this.deps.images, this.deps.storage.forUrl(item.storageLocation), item, this.deps.logger, signal);
    if (!made) return;
    const saved = await this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(mediaItems)
        .set({ thumbnailKey: made.key, width: sql`coalesce(${mediaItems.width}, ${made.width})`, height: sql`coalesce(${mediaItems.height}, ${made.height})` })
        .where(and(eq(mediaItems.id, item.id), eq(mediaItems.accountId, item.accountId)))
        .returning();
      if (row) await this.publish(tx, row, 'THUMBNAIL_READY');
      return row;
    });
    if (!saved) await this.deps.storage.forUrl(item.storageLocation).delete(made.key);
  }
}
