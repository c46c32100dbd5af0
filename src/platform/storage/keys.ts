// Shared validation so every driver accepts and rejects the same keys, ranges
// and expiries.
import { ValidationError } from '../errors.js';
import { InvalidKeyError, InvalidRangeError, InvalidSignedUrlOptionsError } from './errors.js';

const MAX_KEY_BYTES = 1024;

/**
 * The one object-key scheme: `<area>/<account>/<record>/<name>`. Keys derive
 * from ids alone, so a retried job writes the same key instead of a second copy.
 */
export function objectKey(area: string, accountId: string, recordId: string, name = 'original'): string {
  return `${area}/${accountId}/${recordId}/${name}`;
}
 // S3 and GCS both cap object names here

export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new InvalidKeyError(key, 'longer than 1024 bytes');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'must be relative');
  if (key.endsWith('/')) throw new InvalidKeyError(key, 'must not end with /');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'backslash');
  // Control characters (NUL included) break file systems, headers and logs.
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidKeyError(key, 'control character');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidKeyError(key, 'empty, "." or ".." path segment');
    }
  }
}

/** Prefix from a storage URL path, normalised to '' or 'a/b/'. */
export function normalisePrefix(raw: string): string {
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/**
 * Turns a requested range into absolute inclusive offsets, or throws when no
 * byte of it exists (HTTP 416 semantics: an end past the object is clamped).
 */
export function resolveRange(range: { start: number; end?: number }, size: number): { start: number; end: number } {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new InvalidRangeError(`Invalid range start ${start}`, size);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new InvalidRangeError(`Invalid range end ${end}`, size);
  }
  if (start >= size) throw new InvalidRangeError(`Range start ${start} is past the object size ${size}`, size);
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

/** Checks a range before a store is asked, so all drivers reject the same shapes. */
export function assertRangeShape(range: { start: number; end?: number }): void {
  resolveRange(range, Number.MAX_SAFE_INTEGER);
}

export function assertExpiry(expiresInSeconds: number): void {
  if (!Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
    throw new InvalidSignedUrlOptionsError(`expiresInSeconds must be a positive number, got ${expiresInSeconds}`);
  }
}

export const SEVEN_DAYS_SECONDS = 7 * 24 * 60 * 60;

/** Signed links last an hour unless asked otherwise, and at most what S3 and GCS presigning allow. */
export const LINK_DEFAULT_SECONDS = 60 * 60;
export const LINK_MAX_SECONDS = SEVEN_DAYS_SECONDS;

/** RFC 6266 / 5987 attachment header that survives any file name. */
export function attachmentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The link lifetime a caller asked for (default one hour), checked. */
export function linkLifetime(expiresInSeconds: number | null | undefined): number {
  const seconds = expiresInSeconds ?? LINK_DEFAULT_SECONDS;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > LINK_MAX_SECONDS) {
    throw new ValidationError('expiresInSeconds', `must be a whole number of seconds from 1 to ${LINK_MAX_SECONDS}`);
  }
  return seconds;
}
