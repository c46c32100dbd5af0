// Download tasks and the destinations each account may write to.
// DownloadTaskService is the only writer of both tables.
import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { accounts } from '../platform/auth/tables.js';
import { jobColumns } from '../jobs/columns.js';

export const DOWNLOAD_TASK_STATES = ['PENDING', 'IN_PROGRESS', 'SUCCESS', 'FAILED'] as const;
export type DownloadTaskState = (typeof DOWNLOAD_TASK_STATES)[number];

export const STORAGE_TYPES = ['S3', 'GS', 'LOCAL'] as const;
export type StorageType = (typeof STORAGE_TYPES)[number];

/** What the caller asked for, normalised and with defaults filled in (the reference's `input`). */
export interface DownloadTaskInput {
  url: string;
  country: string;
  locale: string | null;
  expectedMimeTypes: string[] | null;
  storage: { type: StorageType; url: string; objectName: string | null } | null;
  storageCompress: boolean;
  callbackUrl: string | null;
}

/** Where the finished object is. */
export interface DownloadTaskResult {
  url: string;
  key: string;
  size: number;
  contentType: string;
  contentEncoding: string | null;
  etag: string;
  sha256: string;
}

export const storageDestinations = pgTable(
  'storage_destinations',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    // Normalised: scheme://bucket/prefix/ (gcs:// stored as gs://).
    url: text('url').notNull(),
    type: text('type', { enum: STORAGE_TYPES }).notNull(),
    endpoint: text('endpoint'),
    region: text('region'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('storage_destinations_account_url_idx').on(t.accountId, t.url)],
);

export type StorageDestination = typeof storageDestinations.$inferSelect;

export const downloadTasks = pgTable(
  'download_tasks',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    // Kept for the reference's task shape (account_name); accounts are never renamed.
    accountName: text('account_name').notNull(),
    input: jsonb('input').$type<DownloadTaskInput>().notNull(),
    // The destination the task writes to: the allow-listed entry, or the account's default storage.
    destinationUrl: text('destination_url').notNull(),
    destinationEndpoint: text('destination_endpoint'),
    destinationRegion: text('destination_region'),
    acceptLanguage: text('accept_language').notNull(),
    idempotencyKey: text('idempotency_key'),
    // sha256 of the normalised input: a replayed key with other input is a conflict.
    inputHash: text('input_hash').notNull(),
    // Set once the type is known; the same on every attempt, so a retry overwrites.
    objectKey: text('object_key'),
    result: jsonb('result').$type<DownloadTaskResult>(),
    compressed: boolean('compressed').notNull().default(false),
    ...jobColumns(DOWNLOAD_TASK_STATES, 'PENDING'),
  },
  (t) => [
    check('download_tasks_status_check', sql`${t.status} in ('PENDING', 'IN_PROGRESS', 'SUCCESS', 'FAILED')`),
    index('download_tasks_account_created_idx').on(t.accountId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex('download_tasks_idempotency_idx').on(t.accountId, t.idempotencyKey),
  ],
);

export type DownloadTaskRow = typeof downloadTasks.$inferSelect;
