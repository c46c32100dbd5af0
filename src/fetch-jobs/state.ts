// Every status change of a fetch job, each in one transaction with its event
// (and, on completion, its webhook), so what subscribers and receivers hear
// is exactly what committed.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import type { AppServices } from '../services.js';
import type { UrlMetadata } from './extractors/types.js';
import { fetchJobs, type FetchJobRow, type FetchJobStatus } from './tables.js';

export const FETCH_JOB_TOPIC = 'fetch-job';

export type Deps = Pick<AppServices, 'database' | 'events' | 'webhooks' | 'config'>;

export function publishState(deps: Deps, tx: Tx, row: FetchJobRow, type: string): Promise<void> {
  return deps.events.publish(tx, {
    accountId: row.accountId,
    topic: FETCH_JOB_TOPIC,
    type,
    id: row.id,
    data: { status: row.status, bytesReceived: row.bytesReceived, bytesTotal: row.bytesTotal },
  });
}

/** The job as webhook receivers see it (no bytes, no internal keys). */
export function jobJson(row: FetchJobRow, publicUrl: string): Record<string, unknown> {
  return {
    id: row.id,
    url: row.url,
    status: row.status,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage } : null,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    metadata: row.metadata ?? null,
    bytesReceived: row.bytesReceived,
    bytesTotal: row.bytesTotal,
    mediaItemId: row.mediaItemId,
    downloadUrl: downloadPath(row, publicUrl),
    webhookUrl: row.webhookUrl,
  };
}

export function downloadName(row: Pick<FetchJobRow, 'fileName' | 'metadata'>): string {
  return row.fileName || row.metadata?.fileName || 'media';
}

export function downloadPath(row: FetchJobRow, publicUrl: string): string | null {
  return row.status === 'SUCCESS' ? `${publicUrl}/fetch/${row.id}/${encodeURIComponent(downloadName(row))}` : null;
}

async function notifyWebhook(deps: Deps, tx: Tx, row: FetchJobRow): Promise<void> {
  if (!row.webhookUrl) return;
  await deps.webhooks.enqueue(tx, {
    accountId: row.accountId,
    url: row.webhookUrl,
    eventType: row.status === 'SUCCESS' ? 'fetch_job.completed' : 'fetch_job.failed',
    payload: jobJson(row, deps.config.publicUrl),
  });
}

/** PENDING (or RUNNING again, on a retry) → RUNNING; null when the job is already over (e.g. cancelled). */
export async function markRunning(deps: Deps, accountId: string, id: string): Promise<FetchJobRow | null> {
  return deps.database.db.transaction(async (tx) => {
    const [row] = await tx
      .update(fetchJobs)
      .set({ status: 'RUNNING', startedAt: sql`coalesce(${fetchJobs.startedAt}, now())`, attempts: sql`${fetchJobs.attempts} + 1`, bytesReceived: 0 })
      .where(and(eq(fetchJobs.id, id), eq(fetchJobs.accountId, accountId), inArray(fetchJobs.status, ['PENDING', 'RUNNING'])))
      .returning();
    if (row) await publishState(deps, tx, row, 'running');
    return row ?? null;
  });
}

export async function saveInspection(deps: Deps, row: FetchJobRow, metadata: UrlMetadata, location: string, key: string): Promise<void> {
  await deps.database.db
    .update(fetchJobs)
    .set({ metadata, bytesTotal: metadata.size, storageLocation: location, objectKey: key })
    .where(and(eq(fetchJobs.id, row.id), eq(fetchJobs.status, 'RUNNING')));
}

/**
 * Records bytes and announces progress. Returns false when the job is no
 * longer RUNNING: that is how a worker learns it was cancelled.
 */
export async function recordProgress(deps: Deps, row: FetchJobRow, bytesReceived: number, bytesTotal: number | null, announce: boolean): Promise<boolean> {
  return deps.database.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(fetchJobs)
      .set({ bytesReceived, bytesTotal })
      .where(and(eq(fetchJobs.id, row.id), eq(fetchJobs.status, 'RUNNING')))
      .returning();
    if (updated && announce) await publishState(deps, tx, updated, 'progress');
    return !!updated;
  });
}

/**
 * Ends a job. Only an unfinished row moves (the WHERE is the guard), so a
 * cancel and a completion racing each other end it exactly once; `during`
 * runs in the same transaction and only for the winner.
 */
export async function finish(
  deps: Deps,
  accountId: string,
  id: string,
  from: FetchJobStatus[],
  changes: Partial<FetchJobRow> & { status: 'SUCCESS' | 'FAILED' },
  during?: (tx: Tx) => Promise<Partial<FetchJobRow> | void>,
): Promise<FetchJobRow | null> {
  return deps.database.db.transaction(async (tx) => {
    const [locked] = await tx
      .select()
      .from(fetchJobs)
      .where(and(eq(fetchJobs.id, id), eq(fetchJobs.accountId, accountId), inArray(fetchJobs.status, from)))
      .for('update');
    if (!locked) return null;
    const extra = (await during?.(tx)) ?? {};
    const [row] = await tx
      .update(fetchJobs)
      .set({ ...changes, ...extra, finishedAt: new Date() })
      .where(eq(fetchJobs.id, id))
      .returning();
    await publishState(deps, tx, row, row.status === 'SUCCESS' ? 'completed' : 'failed');
    await notifyWebhook(deps, tx, row);
    return row;
  });
}
