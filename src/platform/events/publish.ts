// Announces a state change with pg_notify inside the caller's transaction, so
// PostgreSQL delivers it on commit and drops it on rollback.
import { sql as drizzleSql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { DbOrTx } from '../db/client.js';

export const EVENTS_CHANNEL = 'mg_events';
// NOTIFY payloads must stay under 8000 bytes; keep a margin for the channel name and framing.
export const MAX_EVENT_BYTES = 7000;

export interface EventInput {
  accountId: string;
  /** What kind of record changed, e.g. "fetch-job"; subscriptions select on it. */
  topic: string;
  /** What happened, e.g. "progress", "completed". */
  type: string;
  /** The record's id; subscribers load the record itself if they need more. */
  id: string;
  /** Small extras (progress numbers, a state name); never whole rows. */
  data?: Record<string, unknown>;
}

/**
 * The one vocabulary every domain speaks: a record was CREATED, UPDATED
 * (fields changed), DELETED, moved to another STATE, or made PROGRESS (bytes).
 */
export const CHANGE_TYPES = ['CREATED', 'UPDATED', 'STATE', 'PROGRESS', 'DELETED'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

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

export interface LiveEvent extends Required<EventInput> {
  at: string;
}

/** A drizzle Db/Tx, or a postgres.js Sql/TransactionSql. */
export type Executor = DbOrTx | postgres.Sql | postgres.TransactionSql;

export class EventTooLargeError extends Error {
  constructor(readonly bytes: number, event: EventInput) {
    super(`Event ${event.topic}/${event.type} for ${event.id} is ${bytes} bytes; events carry ids and small fields only (limit ${MAX_EVENT_BYTES}). Send the id and let subscribers load the record.`);
    this.name = 'EventTooLargeError';
  }
}

export function encodeEvent(event: EventInput, at = new Date()): string {
  const live: LiveEvent = { accountId: event.accountId, topic: event.topic, type: event.type, id: event.id, data: event.data ?? {}, at: at.toISOString() };
  const payload = JSON.stringify(live);
  const bytes = Buffer.byteLength(payload);
  if (bytes > MAX_EVENT_BYTES) throw new EventTooLargeError(bytes, event);
  return payload;
}

export function decodeEvent(payload: string): LiveEvent | undefined {
  try {
    const value = JSON.parse(payload) as Partial<LiveEvent>;
    if (typeof value.accountId !== 'string' || typeof value.topic !== 'string' || typeof value.id !== 'string' || typeof value.type !== 'string') return undefined;
    return { accountId: value.accountId, topic: value.topic, type: value.type, id: value.id, data: value.data ?? {}, at: value.at ?? new Date().toISOString() };
  } catch {
    return undefined;
  }
}

/** Runs `select pg_notify(channel, payload)` on whichever kind of handle the caller holds. */
export async function notify(executor: Executor, channel: string, payload: string): Promise<void> {
  if (typeof (executor as postgres.Sql).unsafe === 'function') {
    await (executor as postgres.Sql).unsafe('select pg_notify($1, $2)', [channel, payload]);
  } else {
    await (executor as DbOrTx).execute(drizzleSql`select pg_notify(${channel}, ${payload})`);
  }
}

/**
 * Publish inside the transaction that writes the change. Given a plain Db (not
 * a transaction) the event goes out at once, which suits events with no write.
 */
export async function publishEvent(executor: Executor, event: EventInput): Promise<void> {
  await notify(executor, EVENTS_CHANNEL, encodeEvent(event));
}
