// webhookDeliveries pages by (created_at, id), newest first.
import { decodeKeysetCursor, encodeKeysetCursor, type KeysetPosition } from '../graphql/keyset-cursor.js';

/** Tags this list's cursors so another list's cursor is refused. */
export const CURSOR_SCOPE = 'webhook-delivery';
export type DeliveryCursor = KeysetPosition;
export const encodeDeliveryCursor = (row: DeliveryCursor) => encodeKeysetCursor(CURSOR_SCOPE, row);
export const decodeDeliveryCursor = (cursor: string, field = 'after') => decodeKeysetCursor(CURSOR_SCOPE, cursor, field);
