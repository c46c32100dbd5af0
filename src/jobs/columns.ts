// The columns every job-shaped table shares, so each domain's job row can be
// read, moved and watched by the same code (see store.ts and live.ts).
import { bigint, integer, text, timestamp } from 'drizzle-orm/pg-core';

/** Where a running job is; a job moves forward through these, ending at DONE. */
export const JOB_STAGES = ['QUEUED', 'RESOLVING', 'DOWNLOADING', 'STORING', 'PROBING', 'THUMBNAILING', 'DELIVERING', 'DONE'] as const;
export type JobStage = (typeof JOB_STAGES)[number];

// Millisecond precision so a cursor made from a JS Date names the row exactly.
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export interface JobColumnOptions {
  /** The column holding the readable error, when a table named it before the job core existed. */
  errorMessageColumn?: string;
}

/**
 * status (the domain's own vocabulary), stage, error code/message, attempts,
 * bytes received/total, and created/updated/started/finished/heartbeat times.
 */
export function jobColumns<const S extends readonly [string, ...string[]]>(statuses: S, initial: S[number], options: JobColumnOptions = {}) {
  return {
    status: text('status', { enum: statuses }).notNull().default(initial),
    stage: text('stage', { enum: JOB_STAGES }).notNull().default('QUEUED'),
    errorCode: text('error_code'),
    errorMessage: text(options.errorMessageColumn ?? 'error_message'),
    attempts: integer('attempts').notNull().default(0),
    bytesReceived: bigint('bytes_received', { mode: 'number' }).notNull().default(0),
    bytesTotal: bigint('bytes_total', { mode: 'number' }),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
    startedAt: at('started_at'),
    finishedAt: at('finished_at'),
    // Touched by the worker while it runs; a stale one means the worker died.
    heartbeatAt: at('heartbeat_at'),
  };
}

/** What the job core reads of any job row. */
export interface JobRow {
  id: string;
  accountId: string;
  status: string;
  stage: JobStage;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  bytesReceived: number;
  bytesTotal: number | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  heartbeatAt: Date | null;
}
