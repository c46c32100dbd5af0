// The media library's one table. Only src/media-items/service.ts writes it.
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { accounts } from '../platform/auth/tables.js';

export const mediaItems = pgTable(
  'media_items',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    objectKey: text('object_key').notNull(),
    // Which store holds the object; storageLocation lets a later STORAGE_URL change still find it.
    storeId: text('store_id').notNull(),
    storageLocation: text('storage_location').notNull(),
    originalFileName: text('original_file_name').notNull(),
    mimeType: text('mime_type').notNull(),
    mediaSize: bigint('media_size', { mode: 'number' }).notNull(),
    etag: text('etag').notNull(),
    sha256: text('sha256').notNull(),
    width: integer('width'),
    height: integer('height'),
    thumbnailKey: text('thumbnail_key'),
    title: text('title'),
    description: text('description'),
    metadataPrimary: text('metadata_primary'),
    metadataSecondary: text('metadata_secondary'),
    public: boolean('public').notNull().default(false),
    maxDownloadsAllowed: integer('max_downloads_allowed'),
    timesDownloaded: integer('times_downloaded').notNull().default(0),
    timeCreated: timestamp('time_created', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    timeLastUpdated: timestamp('time_last_updated', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('media_items_account_created_idx').on(t.accountId, t.timeCreated, t.id)],
);

export type MediaItem = typeof mediaItems.$inferSelect;
