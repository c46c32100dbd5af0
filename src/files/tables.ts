// The files table: one row per entity attachment, whose processing is a job
// (the job core's columns). FileService is its only writer.
import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { accounts } from '../platform/auth/tables.js';
import { jobColumns } from '../jobs/columns.js';

export const FILE_STATUSES = ['UPLOADING', 'UPLOADED', 'PROCESSING', 'READY', 'FAILED'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

export const files = pgTable(
  'files',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    entityType: text('entity_type').notNull(),
    entityId: text('entity_id').notNull(),
    // Declared by the client, then corrected to what the bytes really are.
    contentType: text('content_type').notNull(),
    declaredSize: bigint('declared_size', { mode: 'number' }).notNull(),
    fileSize: bigint('file_size', { mode: 'number' }),
    fileName: text('file_name'),
    // The storage URL the objects live in, so a later STORAGE_URL change does not strand them.
    store: text('store').notNull(),
    objectKey: text('object_key').notNull(),
    thumbnailKey: text('thumbnail_key'),
    width: integer('width'),
    height: integer('height'),
    blurhash: text('blurhash'),
    dominantColor: text('dominant_color'),
    uploadExpiresAt: timestamp('upload_expires_at', { withTimezone: true, mode: 'date' }),
    // The readable error predates the job core under this name (GraphQL: failureReason).
    ...jobColumns(FILE_STATUSES, 'UPLOADING', { errorMessageColumn: 'failure_reason' }),
  },
  (t) => [
    check('files_status_check', sql`${t.status} in ('UPLOADING', 'UPLOADED', 'PROCESSING', 'READY', 'FAILED')`),
    // filesByEntity walks this index newest first with a (created_at, id) cursor.
    index('files_entity_idx').on(t.accountId, t.entityType, t.entityId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex('files_object_key_idx').on(t.store, t.objectKey),
    // The sweeper only ever looks at unfinished uploads.
    index('files_upload_expiry_idx').on(t.uploadExpiresAt).where(sql`${t.status} = 'UPLOADING'`),
  ],
);

export type FileRow = typeof files.$inferSelect;
