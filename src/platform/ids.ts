// Ids as clients send them: a record's UUID, or its Relay global id
// (base64 of "Type:uuid"). One parser for every type and every domain.
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { ValidationError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/** The UUID a client means by `raw` for records of `typename`, or null when it cannot name one. */
export function parseId(raw: string | number, typename: string): string | null {
  const id = String(raw);
  if (UUID.test(id)) return id.toLowerCase();
  try {
    const decoded = decodeGlobalID(id);
    return decoded.typename === typename && UUID.test(decoded.id) ? decoded.id.toLowerCase() : null;
  } catch {
    return null;
  }
}

export const globalId = (typename: string, id: string): string => encodeGlobalID(typename, id);

/**
 * A Relay global id's type name and UUID, for `node(id:)`, which has no type
 * to fall back on: anything else (garbage, a bare UUID) is a ValidationError
 * naming `field`.
 */
export function decodeNodeId(raw: string, field = 'id'): { typename: string; id: string } {
  let decoded: { typename: string; id: string } | undefined;
  try {
    decoded = decodeGlobalID(raw);
  } catch {
    decoded = undefined;
  }
  if (!decoded?.typename || !UUID.test(decoded.id)) {
    throw new ValidationError(field, UUID.test(raw) ? 'is a bare UUID; node(id:) takes a Relay global id (an object\'s `id` field)' : 'is not a Relay global id');
  }
  return { typename: decoded.typename, id: decoded.id.toLowerCase() };
}
