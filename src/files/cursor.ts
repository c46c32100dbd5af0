// filesByEntity pages by (created_at, id), newest first.
import { decodeKeysetCursor, encodeKeysetCursor, type KeysetPosition } from '../graphql/keyset-cursor.js';

export type FileCursor = KeysetPosition;
export const encodeCursor = (row: FileCursor) => encodeKeysetCursor('file', row);
export const decodeCursor = (cursor: string, field = 'after') => decodeKeysetCursor('file', cursor, field);
