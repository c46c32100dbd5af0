// Announces a change inside the caller's transaction. State changes are
// appended to the account's event log (see tables.ts) and pg_notify carries
// only "<account>:<seq>", so PostgreSQL delivers the hint on commit and drops
// it on rollback, and a reader that missed it can still find the event.
// PROGRESS events (bytes, at most every 250 ms per job) are not logged: they
// travel whole in their notification and are superseded by the next one.
import { sql as drizzleSql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { DbOrTx } from '../db/client.js';

export const EVENTS_CHANNEL = 'mg_events';
export const PROGRESS_CHANNEL = 'mg_progress';
// NOTIFY payloads must stay under 8000 bytes; keep a margin for the channel name and framing.
export const MAX_EVENT_BYTES = 7000;

export interface EventInput {
  accountId: string;
  /** What kind of record changed, e.g. "fetch-job"; subscriptions select on it. */
  topic: string;
  /** What happened: CREATED, UPDATED, STATE, PROGRESS, DELETED (see CHANGE_TYPES). */
  type: string;
  /** The record's id; subscribers load the record itself if they need more. */
  id: string;
  /** Small extras (status, stage, bytes, a few fields); never whole rows. */
  data?: Record<string, unknown>;
}

export interface LiveEvent extends Required<EventInput> {
  at: string;
  /** Position in the account's log; null for PROGRESS events, which are not logged. */
  seq: number | null;
}

/**
 * The one vocabulary every domain speaks: a record was CREATED, UPDATED
 * (fields changed), DELETED, moved to another STATE, or made PROGRESS (bytes).
 */
export const CHANGE_TYPES = ['CREATED', 'UPDATED', 'STATE', 'PROGRESS', 'DELETED'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** Told to a subscriber whose resume point was pruned from the log: refetch what you show. */
export const RESYNC = 'RESYNC';

/** A change to a record, as domains announce it. */
export interface Change {
  accountId: string;
  topic: string;
  id: string;
  type: ChangeType;
  status?: string;
  stage?: string | null;
  bytesReceived?: number;
  bytesTotal?: number | null;
  /** Small domain extras (an entity id, what kind of update); never whole rows. */
  data?: Record<string, unknown>;
}

/** The event a Change travels as: status, stage and bytes ride in `data`. */
export function changeEvent(change: Change): EventInput {
  const { accountId, topic, id, type, status, stage, bytesReceived, bytesTotal, data } = change;
  const fields: Record<string, unknown> = { ...data };
  if (status !== undefined) fields.status = status;
  if (stage !== undefined) fields.stage = stage;
  if (bytesReceived !== undefined) fields.bytesReceived = bytesReceived;
  if (bytesTotal !== undefined) fields.bytesTotal = bytesTotal;
  return { accountId, topic, id, type, data: fields };
}

/** A drizzle Db/Tx, or a postgres.js Sql/TransactionSql. */
export type Executor = DbOrTx | postgres.Sql | postgres.TransactionSql;

export class EventTooLargeError extends Error {
  constructor(readonly bytes: number, event: EventInput) {
    super(`Event ${event.topic}/${event.type} for ${event.id} is ${bytes} bytes; events carry ids and small fields only (limit ${MAX_EVENT_BYTES}). Send the id and let subscribers load the record.`);
    this.name = 'EventTooLargeError';
  }
}

function checkedData(event: EventInput): string {
  const data = JSON.stringify(event.data ?? {});
  const bytes = Buffer.byteLength(data) + event.topic.length + event.id.length + event.type.length + 100;
  if (bytes > MAX_EVENT_BYTES) throw new EventTooLargeError(bytes, event);
  return data;
}

export function encodeProgress(event: EventInput, at = new Date()): string {
  checkedData(event);
  const live: LiveEvent = { accountId: event.accountId, topic: event.topic, type: event.type, id: event.id, data: event.data ?? {}, at: at.toISOString(), seq: null };
  return JSON.stringify(live);
}

export function decodeProgress(payload: string): LiveEvent | undefined {
  try {
    const value = JSON.parse(payload) as Partial<LiveEvent>;
    if (typeof value.accountId !== 'string' || typeof value.topic !== 'string' || typeof value.id !== 'string' || typeof value.type !== 'string') return undefined;
    return { accountId: value.accountId, topic: value.topic, type: value.type, id: value.id, data: value.data ?? {}, at: value.at ?? new Date().toISOString(), seq: null };
  } catch {
    return undefined;
  }
}

/** "<account>:<seq>" of an EVENTS_CHANNEL notification. */
export function decodeLogHint(payload: string): { accountId: string; seq: number } | undefined {
  const colon = payload.lastIndexOf(':');
  const seq = Number(payload.slice(colon + 1));
  return colon > 0 && Number.isSafeInteger(seq) ? { accountId: payload.slice(0, colon), seq } : undefined;
}

const isPostgresJs = (executor: Executor): executor is postgres.Sql | postgres.TransactionSql => typeof (executor as postgres.Sql).unsafe === 'function';

/** Runs `select pg_notify(channel, payload)` on whichever kind of handle the caller holds. */
export async function notify(executor: Executor, channel: string, payload: string): Promise<void> {
  if (isPostgresJs(executor)) await executor.unsafe('select pg_notify($1, $2)', [channel, payload]);
  else await executor.execute(drizzleSql`select pg_notify(${channel}, ${payload})`);
}

// One statement, so it is atomic even outside a transaction: take the account's
// next number (locking its counter row until commit), append, and announce.
function appendStatement(p: (i: number) => string): string {
  return `
  with counter as (
    insert into event_counters (account_id, last_seq) values (${p(1)}::uuid, 1)
    on conflict (account_id) do update set last_seq = event_counters.last_seq + 1
    returning last_seq
  ), appended as (
    insert into events (account_id, seq, topic, object_id, type, data)
    select ${p(1)}::uuid, last_seq, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}::jsonb from counter
    returning seq
  )
  select pg_notify('${EVENTS_CHANNEL}', ${p(6)}::text || ':' || seq) from appended`;
}
const APPEND_POSTGRES_JS = appendStatement((i) => `$${i}`);

/**
 * Publish inside the transaction that writes the change (publish after the
 * change's own row updates: the counter lock is the last one a transaction
 * takes). Given a plain Db the event goes out at once.
 */
export async function publishEvent(executor: Executor, event: EventInput): Promise<void> {
  if (event.type === 'PROGRESS') {
    await notify(executor, PROGRESS_CHANNEL, encodeProgress(event));
    return;
  }
  const params = [event.accountId, event.topic, event.id, event.type, checkedData(event), event.accountId];
  if (isPostgresJs(executor)) {
    await executor.unsafe(APPEND_POSTGRES_JS, params);
    return;
  }
  const chunks = appendStatement((i) => `\u0000${i}\u0000`).split('\u0000');
  // Odd chunks are parameter numbers: hand drizzle the values in their places.
  const query = drizzleSql.join(chunks.map((chunk, i) => (i % 2 ? drizzleSql`${params[Number(chunk) - 1]}` : drizzleSql.raw(chunk))));
  await executor.execute(query);
}
