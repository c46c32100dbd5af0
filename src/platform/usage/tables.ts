// What each account uses, kept exact in the transactions that change it: the
// counters move by triggers on the counted tables (migration 0009), so every
// write path (GraphQL, REST, workers, the CLI) counts, and nothing is scanned.
import { bigint, date, pgTable, uuid } from 'drizzle-orm/pg-core';
import { accounts } from '../auth/tables.js';

export const accountUsage = pgTable('account_usage', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  mediaItems: bigint('media_items', { mode: 'number' }).notNull().default(0),
  files: bigint('files', { mode: 'number' }).notNull().default(0),
  bytesStored: bigint('bytes_stored', { mode: 'number' }).notNull().default(0),
  jobsQueued: bigint('jobs_queued', { mode: 'number' }).notNull().default(0),
  jobsRunning: bigint('jobs_running', { mode: 'number' }).notNull().default(0),
  // Completed downloads on downloads_day (UTC); another day means zero so far.
  downloadsDay: date('downloads_day', { mode: 'string' }),
  downloadsToday: bigint('downloads_today', { mode: 'number' }).notNull().default(0),
});
