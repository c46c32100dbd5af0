// HMAC-SHA256 with the key imported once per secret: links are signed by the
// hundred per list page, and importing a string key on every call costs as
// much as the hash itself.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

const keys = new Map<string, KeyObject>();

export function hmacSha256(secret: string, payload: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    // A process holds a handful of secrets (signing secret, rotations); the bound is a guard, not a cache policy.
    if (keys.size >= 64) keys.clear();
    keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  }
  return createHmac('sha256', key).update(payload).digest();
}
