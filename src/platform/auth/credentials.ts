// Reads a key from any of the three header forms the reference APIs use.
import { splitKey, validParts, type KeyParts } from './keys.js';

export type CredentialProblem = 'MISSING' | 'MALFORMED';
export type Credentials = { ok: true; key: KeyParts } | { ok: false; problem: CredentialProblem; message: string };

export type HeaderBag = { get(name: string): string | null | undefined };

const malformed = (message: string): Credentials => ({ ok: false, problem: 'MALFORMED', message });

export function readCredentials(headers: HeaderBag): Credentials {
  const apiKey = headers.get('x-api-key')?.trim();
  const authorization = headers.get('authorization')?.trim();
  if (apiKey) {
    const key = splitKey(apiKey);
    return key ? { ok: true, key } : malformed('X-API-KEY is not a media-gateway API key');
  }
  if (!authorization) {
    return { ok: false, problem: 'MISSING', message: 'Send an API key: X-API-KEY: <key>, Authorization: Bearer <key>, or Authorization: Basic base64(<key id>:<secret>)' };
  }
  const space = authorization.indexOf(' ');
  const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : authorization.slice(space + 1).trim();
  if (scheme === 'bearer') {
    const key = splitKey(value);
    return key ? { ok: true, key } : malformed('Bearer token is not a media-gateway API key');
  }
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const key = colon < 0 ? undefined : validParts(decoded.slice(0, colon), decoded.slice(colon + 1));
    return key ? { ok: true, key } : malformed('Basic credentials must be base64(<key id>:<secret>)');
  }
  return malformed(`Unsupported Authorization scheme "${scheme}"`);
}

/** graphql-ws connectionParams carry the same headers, in any letter case. */
export function headersFromParams(params: Record<string, unknown> | undefined): HeaderBag {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(params ?? {})) if (typeof v === 'string') lower.set(k.toLowerCase(), v);
  return { get: (name) => lower.get(name.toLowerCase()) };
}
