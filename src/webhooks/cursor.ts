// Opaque keyset cursor for webhookDeliveries: the (created_at, id) of the last
// row seen, so deliveries recorded meanwhile never shift the pages that follow.
import { ValidationError } from '../errors.js';

export interface DeliveryCursor {
  createdAt: Date;
  id: string;
}

export function encodeDeliveryCursor(row: DeliveryCursor): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeDeliveryCursor(cursor: string, field = 'after'): DeliveryCursor {
  const [at, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (extra === undefined && id && /^[0-9a-f-]{36}$/i.test(id) && !Number.isNaN(createdAt.getTime())) return { createdAt, id };
  throw new ValidationError(field, 'not a cursor returned by this API');
}
