// fetchJobs pages by (created_at, id), newest first.
import { decodeKeysetCursor, encodeKeysetCursor, type KeysetPosition } from '../graphql/keyset-cursor.js';

export type JobCursor = KeysetPosition;
export const encodeCursor = (row: JobCursor) => encodeKeysetCursor('fetch-job', row);
export const decodeCursor = (cursor: string) => decodeKeysetCursor('fetch-job', cursor);
