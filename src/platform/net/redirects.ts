// Redirect rules. safeFetch follows redirects itself (never the HTTP client)
// so that every hop goes back through checkUrl and a fresh pinned connection.
import { UrlNotAllowedError } from './errors.js';

export type RequestBody = string | Buffer | Uint8Array;

export interface HopRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: RequestBody | undefined;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

export function isRedirect(status: number): boolean {
  return redirectStatuses.has(status);
}

// Headers describing a body we no longer send.
const bodyHeaders = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location', 'transfer-encoding'];
// Credentials meant for the original origin must not follow a redirect elsewhere.
const credentialHeaders = ['authorization', 'cookie', 'proxy-authorization'];

function without(headers: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!names.includes(k.toLowerCase())) out[k] = v;
  return out;
}

/**
 * The request for the next hop after a redirect response. Throws
 * UrlNotAllowedError for a Location that cannot be parsed. The new URL still
 * has to pass checkUrl (scheme, credentials, addresses) like any other.
 */
export function nextHop(current: HopRequest, status: number, location: string): HopRequest {
  let url: URL;
  try {
    // Relative locations resolve against the URL that answered, not the first one.
    url = new URL(location, current.url);
  } catch {
    throw new UrlNotAllowedError(`invalid redirect location ${JSON.stringify(location)}`, current.url.href);
  }
  let { method, body, headers } = current;
  const upper = method.toUpperCase();
  // 303: always GET (HEAD stays HEAD). 301/302: browsers turn POST into GET and
  // servers rely on it. 307/308: same method and body; our bodies are always
  // in memory (string/Buffer), so they can be replayed.
  if ((status === 303 && upper !== 'HEAD' && upper !== 'GET') || ((status === 301 || status === 302) && upper === 'POST')) {
    method = 'GET';
    body = undefined;
    headers = without(headers, bodyHeaders);
  }
  if (url.origin !== current.url.origin) headers = without(headers, credentialHeaders);
  // Fragments are never sent; keep the one from Location only for reporting.
  return { url, method, headers, body };
}
