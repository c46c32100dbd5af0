// HMAC-signed links for objects the gateway serves itself (local driver).
// The signature covers the method, the key and every other query parameter,
// so changing any of them (filename, type, length, expiry) invalidates it.
import { timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from '../hmac.js';

export const LOCAL_OBJECTS_PATH = '/objects/';

/** Query parameters a local link may carry besides `sig`. */
const SIGNED_PARAMS = new Set(['method', 'expires', 'filename', 'type', 'length']);

export type SignedMethod = 'GET' | 'PUT';

export interface LocalLinkParams {
  method: SignedMethod;
  /** unix seconds */
  expires: number;
  filename?: string;
  /** GET: response Content-Type; PUT: required request Content-Type */
  type?: string;
  /** PUT only: required Content-Length */
  length?: number;
}

export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** The signed parameters, already in the canonical (name-sorted) order. */
function toEntries(params: LocalLinkParams): [string, string][] {
  const entries: [string, string][] = [['expires', String(params.expires)]];
  if (params.filename !== undefined) entries.push(['filename', params.filename]);
  if (params.length !== undefined) entries.push(['length', String(params.length)]);
  entries.push(['method', params.method]);
  if (params.type !== undefined) entries.push(['type', params.type]);
  return entries;
}

const byName = ([a]: [string, string], [b]: [string, string]) => (a < b ? -1 : a > b ? 1 : 0);

/** `sorted` must be in name order: both toEntries and the verifier's sort give it. */
function signature(secret: string, key: string, sorted: [string, string][]): Buffer {
  // Encoding each part keeps the payload unambiguous whatever the values hold.
  let payload = `media-gateway-local-v1\n${encodeURIComponent(key)}`;
  for (const [k, v] of sorted) payload += `\n${k}=${encodeURIComponent(v)}`;
  return hmacSha256(secret, payload);
}

export function signLocalUrl(publicUrl: string, secret: string, key: string, params: LocalLinkParams): string {
  const sig = signature(secret, key, toEntries(params)).toString('hex');
  // The query reads method, expires, then the optional parts; its order is not signed.
  let query = `method=${params.method}&expires=${params.expires}`;
  if (params.filename !== undefined) query += `&filename=${encodeURIComponent(params.filename)}`;
  if (params.type !== undefined) query += `&type=${encodeURIComponent(params.type)}`;
  if (params.length !== undefined) query += `&length=${params.length}`;
  const base = publicUrl.endsWith('/') ? publicUrl.slice(0, -1) : publicUrl;
  return `${base}${LOCAL_OBJECTS_PATH}${encodeKeyPath(key)}?${query}&sig=${sig}`;
}

export type VerifyResult =
  | { ok: true; params: LocalLinkParams }
  | { ok: false; code: 'SIGNATURE_INVALID' | 'SIGNATURE_EXPIRED'; message: string };

const invalid = (message: string): VerifyResult => ({ ok: false, code: 'SIGNATURE_INVALID', message });

/**
 * Checks a request's query against the key it addresses. `method` is the
 * method the link must have been signed for (HEAD requests pass 'GET').
 */
export function verifyLocalUrl(
  secret: string,
  key: string,
  query: URLSearchParams,
  method: SignedMethod,
  nowMs: number,
): VerifyResult {
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  let sig: string | undefined;
  for (const [name, value] of query) {
    if (seen.has(name)) return invalid(`Duplicate query parameter ${name}`);
    seen.add(name);
    if (name === 'sig') sig = value;
    else if (SIGNED_PARAMS.has(name)) entries.push([name, value]);
    else return invalid(`Unexpected query parameter ${name}`);
  }
  if (!sig) return invalid('The link is not signed');
  if (!/^[0-9a-f]{64}$/.test(sig)) return invalid('Malformed signature');
  const expected = signature(secret, key, entries.sort(byName));
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return invalid('Signature does not match');

  // Past this point the parameters are the ones the gateway signed.
  const get = (name: string) => entries.find(([k]) => k === name)?.[1];
  if (get('method') !== method) return invalid(`The link was not signed for ${method}`);
  const expires = Number(get('expires'));
  if (!Number.isSafeInteger(expires)) return invalid('Malformed expiry');
  if (nowMs >= expires * 1000) return { ok: false, code: 'SIGNATURE_EXPIRED', message: 'The link has expired' };
  const length = get('length');
  return {
    ok: true,
    params: {
      method,
      expires,
      filename: get('filename'),
      type: get('type'),
      length: length === undefined ? undefined : Number(length),
    },
  };
}
