// fetchJobs pages by (created_at, id), newest first.
import { decodeKeysetCursor, encodeKeysetCursor, type KeysetPosition } from '../graphql/keyset-cursor.js';

/** Tags this list's cursors so another list's cursor is refused. */
export const CURSOR_SCOPE = 'fetch-job';
export type JobCursor = KeysetPosition;
export const encodeCursor = (row: JobCursor) => encodeKeysetCursor(CURSOR_SCOPE, row);
export const decodeCursor = (cursor: string) => decodeKeysetCursor(CURSOR_SCOPE, cursor);
