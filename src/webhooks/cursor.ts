// webhookDeliveries pages by (created_at, id), newest first.
import { decodeKeysetCursor, encodeKeysetCursor, type KeysetPosition } from '../graphql/keyset-cursor.js';

export type DeliveryCursor = KeysetPosition;
export const encodeDeliveryCursor = (row: DeliveryCursor) => encodeKeysetCursor('webhook-delivery', row);
export const decodeDeliveryCursor = (cursor: string, field = 'after') => decodeKeysetCursor('webhook-delivery', cursor, field);
