// filesByEntity pages by (created_at, id), newest first.
import { decodeKeysetCursor, encodeKeysetCursor, type KeysetPosition } from '../graphql/keyset-cursor.js';

/** Tags this list's cursors so another list's cursor is refused. */
export const CURSOR_SCOPE = 'file';
export type FileCursor = KeysetPosition;
export const encodeCursor = (row: FileCursor) => encodeKeysetCursor(CURSOR_SCOPE, row);
export const decodeCursor = (cursor: string, field = 'after') => decodeKeysetCursor(CURSOR_SCOPE, cursor, field);
