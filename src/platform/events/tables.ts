// The durable event log. Every change is appended in the transaction that
// makes it, numbered per account with no gaps: the counter row of the account
// is locked from the first append until commit, so an account's sequence
// numbers commit in order and a rolled-back transaction takes its numbers
// back. Readers can then resume from "the last number I saw" and never skip.
import { sql } from 'drizzle-orm';
import { bigint, index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { accounts } from '../auth/tables.js';

export const eventCounters = pgTable('event_counters', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
  // Events up to here have been pruned; a reader resuming before it must resync.
  prunedThrough: bigint('pruned_through', { mode: 'number' }).notNull().default(0),
});

export const events = pgTable(
  'events',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    topic: text('topic').notNull(),
    objectId: text('object_id').notNull(),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.seq] }), index('events_at_idx').on(t.at)],
);

export type EventRow = typeof events.$inferSelect;
