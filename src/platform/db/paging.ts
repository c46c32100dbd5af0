// Keyset pages for every newest-first list: one query shape, one opaque
// cursor. A cursor is the (created_at, id) of the last row seen; rows
// inserted later sort before it, so paging on is never disturbed. The scope
// tag stops a cursor of one list being used on another.
import { and, desc, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { ValidationError } from '../errors.js';
import type { Db } from './client.js';

export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

export interface KeysetPage<Row> {
  rows: Row[];
  hasNextPage: boolean;
  /** Cursor of each row, in the list's own scope. */
  cursorOf(row: Row): string;
}

export function encodeKeysetCursor(scope: string, row: KeysetPosition): string {
  return Buffer.from(JSON.stringify([scope, row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeKeysetCursor(scope: string, cursor: string, field = 'after'): KeysetPosition {
  try {
    const [tag, at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const createdAt = new Date(at as string);
    if (tag === scope && typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id) && !Number.isNaN(createdAt.getTime())) return { createdAt, id };
  } catch {
    // fall through: any undecodable cursor is the client's mistake
  }
  throw new ValidationError(field, 'not a cursor returned by this list');
}

export interface KeysetQuery {
  /** Tags the cursors, e.g. "fetch-job". */
  scope: string;
  table: PgTable;
  createdAt: PgColumn;
  id: PgColumn;
  /** The list's filters (account scope included). */
  where: (SQL | undefined)[];
  first: number;
  after?: string | null;
}

/** One statement per page: the filters, the cursor, newest first, one row more than asked to know if more follow. */
export async function keysetPage<Row extends KeysetPosition>(db: Db, query: KeysetQuery): Promise<KeysetPage<Row>> {
  const cursor = query.after ? decodeKeysetCursor(query.scope, query.after) : undefined;
  const where = [...query.where];
  if (cursor) where.push(sql`(${query.createdAt}, ${query.id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)`);
  const rows = (await db
    .select()
    .from(query.table)
    .where(and(...where))
    .orderBy(desc(query.createdAt), desc(query.id))
    .limit(query.first + 1)) as Row[];
  return { rows: rows.slice(0, query.first), hasNextPage: rows.length > query.first, cursorOf: (row) => encodeKeysetCursor(query.scope, row) };
}
