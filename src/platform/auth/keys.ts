// API key format: "mgk_<id>.<secret>". The id is public (lookup, listings,
// Basic auth user name); only sha256(secret) is stored. The secret has 256
// bits of entropy, so a fast hash is enough: there is nothing to brute-force.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'mgk_';
const ID_PATTERN = /^mgk_[a-z0-9]{16}$/;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface KeyParts { id: string; secret: string }

export function generateKey(): KeyParts & { key: string } {
  const id = KEY_PREFIX + randomBytes(10).toString('hex').slice(0, 16);
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, key: `${id}.${secret}` };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function splitKey(key: string): KeyParts | undefined {
  const dot = key.indexOf('.');
  if (dot < 0) return undefined;
  return validParts(key.slice(0, dot), key.slice(dot + 1));
}

export function validParts(id: string, secret: string): KeyParts | undefined {
  return ID_PATTERN.test(id) && SECRET_PATTERN.test(secret) ? { id, secret } : undefined;
}
