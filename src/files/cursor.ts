// Opaque keyset cursor for filesByEntity: the (created_at, id) of the last row
// seen. Rows inserted later sort before it, so paging on is never disturbed.
import { ValidationError } from '../errors.js';

export interface FileCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: FileCursor): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string, field = 'after'): FileCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    const createdAt = new Date(at as string);
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(createdAt.getTime()) && /^[0-9a-f-]{36}$/i.test(id)) return { createdAt, id };
  } catch {
    // fall through: any undecodable cursor is the client's mistake
  }
  throw new ValidationError(field, 'not a cursor returned by this API');
}
