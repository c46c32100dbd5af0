// HMAC-signed links for objects the gateway serves itself (local driver).
// The signature covers the method, the key and every other query parameter,
// so changing any of them (filename, type, length, expiry) invalidates it.
import { createHmac, timingSafeEqual } from 'node:crypto';

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

function toEntries(params: LocalLinkParams): [string, string][] {
  const entries: [string, string][] = [
    ['method', params.method],
    ['expires', String(params.expires)],
  ];
  if (params.filename !== undefined) entries.push(['filename', params.filename]);
  if (params.type !== undefined) entries.push(['type', params.type]);
  if (params.length !== undefined) entries.push(['length', String(params.length)]);
  return entries;
}

function signature(secret: string, key: string, entries: [string, string][]): Buffer {
  // Encoding each part keeps the payload unambiguous whatever the values hold.
  const canonical = [...entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  const payload = ['media-gateway-local-v1', encodeURIComponent(key), ...canonical].join('\n');
  return createHmac('sha256', secret).update(payload).digest();
}

export function signLocalUrl(publicUrl: string, secret: string, key: string, params: LocalLinkParams): string {
  const entries = toEntries(params);
  const query = new URLSearchParams(entries);
  query.set('sig', signature(secret, key, entries).toString('hex'));
  return `${publicUrl.replace(/\/$/, '')}${LOCAL_OBJECTS_PATH}${encodeKeyPath(key)}?${query.toString()}`;
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
  const expected = signature(secret, key, entries);
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
