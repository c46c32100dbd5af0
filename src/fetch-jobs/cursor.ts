// Opaque keyset cursor for fetchJobs: (created_at, id) of the last row seen.
import { ValidationError } from '../errors.js';

export interface JobCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: JobCursor): string {
  return Buffer.from(JSON.stringify(['fj', row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): JobCursor {
  try {
    const [tag, at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const createdAt = new Date(at as string);
    if (tag === 'fj' && typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id) && !Number.isNaN(createdAt.getTime())) return { createdAt, id };
  } catch {
    // fall through
  }
  throw new ValidationError('after', 'not a cursor returned by fetchJobs');
}
