// The fetch_jobs table. FetchJobService is its only writer.
import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { accounts } from '../platform/auth/tables.js';
import { jobColumns } from '../jobs/columns.js';
import type { UrlMetadata } from './extractors/types.js';

export const FETCH_JOB_STATUSES = ['PENDING', 'RUNNING', 'SUCCESS', 'FAILED'] as const;
export type FetchJobStatus = (typeof FETCH_JOB_STATUSES)[number];

export const fetchJobs = pgTable(
  'fetch_jobs',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    webhookUrl: text('webhook_url'),
    fileName: text('file_name'),
    expectedMimeTypes: text('expected_mime_types').array(),
    idempotencyKey: text('idempotency_key'),
    // sha256 of the normalised input: a replayed key with other input is a conflict.
    inputHash: text('input_hash').notNull(),
    metadata: jsonb('metadata').$type<UrlMetadata>(),
    // Where the worker streams to; the same key on every attempt, so a retry overwrites.
    storageLocation: text('storage_location'),
    objectKey: text('object_key'),
    // Unique: whatever the retries, one job links to at most one media item.
    mediaItemId: uuid('media_item_id'),
    ...jobColumns(FETCH_JOB_STATUSES, 'PENDING'),
  },
  (t) => [
    check('fetch_jobs_status_check', sql`${t.status} in ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED')`),
    index('fetch_jobs_account_created_idx').on(t.accountId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex('fetch_jobs_idempotency_idx').on(t.accountId, t.idempotencyKey),
    uniqueIndex('fetch_jobs_media_item_idx').on(t.mediaItemId),
  ],
);

export type FetchJobRow = typeof fetchJobs.$inferSelect;
