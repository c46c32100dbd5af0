// Opaque keyset cursors for newest-first lists: the (created_at, id) of the
// last row seen. Rows inserted later sort before it, so paging on is never
// disturbed. The scope tag stops a cursor of one list being used on another.
import { ValidationError } from '../errors.js';

export interface KeysetPosition {
  createdAt: Date;
  id: string;
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

/** A Relay connection for one newest-first keyset page (endCursor is the last row's cursor). */
export function keysetConnection<Row extends KeysetPosition>(
  scope: string,
  page: { rows: Row[]; hasNextPage: boolean },
  after: string | null | undefined,
) {
  const edges = page.rows.map((node) => ({ node, cursor: encodeKeysetCursor(scope, node) }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: !!after, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
