// What each live process holds, so another process can tell when it died and
// clean up after it: the process itself (a lease holder, with a heartbeat),
// the queue jobs it runs, and the S3 multipart uploads it has open. A holder's
// rows go when the holder is declared dead; what they pointed at is then an
// orphan, handed back (jobs) or aborted (uploads) by whoever notices first.
import { index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** One row per running gateway or worker process. */
export const leaseHolders = pgTable('lease_holders', {
  // Also the holder's application_name suffix and its temp-file prefix.
  id: uuid('id').primaryKey(),
  hostname: text('hostname').notNull(),
  pid: integer('pid').notNull(),
  mode: text('mode').notNull(),
  startedAt: at('started_at').notNull().defaultNow(),
  heartbeatAt: at('heartbeat_at').notNull().defaultNow(),
});

/** A queue job this holder is running; gone with the holder, which makes the job an orphan. */
export const jobLeases = pgTable(
  'job_leases',
  {
    jobId: uuid('job_id').primaryKey(),
    queue: text('queue').notNull(),
    holderId: uuid('holder_id')
      .notNull()
      .references(() => leaseHolders.id, { onDelete: 'cascade' }),
    leasedAt: at('leased_at').notNull().defaultNow(),
  },
  (t) => [index('job_leases_holder_idx').on(t.holderId)],
);

/**
 * An S3 multipart upload a process has started and not yet completed or
 * aborted. Its parts are invisible to head() and cost money until aborted, so
 * when the holder dies (holder_id becomes null) a sweeper aborts it.
 */
export const storageMultipartUploads = pgTable(
  'storage_multipart_uploads',
  {
    /** The store's URL, e.g. s3://bucket/prefix. */
    location: text('location').notNull(),
    uploadId: text('upload_id').notNull(),
    /** The key as sent to the store (prefix included). */
    objectKey: text('object_key').notNull(),
    holderId: uuid('holder_id').references(() => leaseHolders.id, { onDelete: 'set null' }),
    startedAt: at('started_at').notNull().defaultNow(),
    failedAborts: integer('failed_aborts').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.location, t.uploadId] }), index('storage_multipart_uploads_holder_idx').on(t.holderId)],
);
