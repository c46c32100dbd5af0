// Serves signed links of the local driver: GET/HEAD stream an object (with
// ranges and conditional requests), PUT stores an upload. Every client mistake
// gets a JSON error with a stable code; nothing leaks a stack trace.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.js';
import { HttpError } from '../http/router.js';
import type { PutResult } from './driver.js';
import { InvalidKeyError, InvalidRangeError, ObjectNotFoundError, ObjectTooLargeError } from './errors.js';
import { assertValidKey, attachmentDisposition } from './keys.js';
import { LOCAL_OBJECTS_PATH, type LocalLinkParams } from './local-signing.js';
import type { LocalStorageDriver } from './local.js';

export interface LocalObjectRouteHooks {
  /**
   * Runs for a correctly signed PUT before any byte is stored: the owner of
   * the key may refuse it by throwing an AppError (a finished upload: 409).
   */
  beforePut?: (key: string) => Promise<void>;
  /** runs after a signed PUT stored the object, before the response */
  onPut?: (key: string, result: PutResult) => Promise<void>;
  /** cap for PUTs whose link did not sign a content length */
  maxBytes?: number;
  /** unexpected failures (answered with a bare 500); defaults to console.error */
  onError?: (err: unknown) => void;
}

export type NodeRouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function keyFromPath(pathname: string): string {
  let key: string;
  try {
    key = pathname.slice(LOCAL_OBJECTS_PATH.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    throw new HttpError(400, 'INVALID_KEY', 'Malformed object path');
  }
  assertValidKey(key);
  return key;
}

const quote = (etag: string) => `"${etag}"`;

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === quote(etag);
  });
}

type RangeRequest = { start: number; end?: number } | 'unsatisfiable' | undefined;

/** One `bytes=` range; anything else (multiple ranges, bad syntax) is ignored per RFC 9110. */
function parseRange(header: string | undefined, size: number): RangeRequest {
  const match = header?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!match) return undefined;
  const [, first, last] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix) };
  }
  const start = Number(first);
  const end = last === '' ? undefined : Number(last);
  if (end !== undefined && end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

async function serveGet(driver: LocalStorageDriver, key: string, params: LocalLinkParams, req: IncomingMessage, res: ServerResponse) {
  const head = await driver.head(key);
  if (!head) throw new ObjectNotFoundError(key);
  const common: Record<string, string> = {
    ETag: quote(head.etag),
    'Cache-Control': 'private',
    'Accept-Ranges': 'bytes',
    'X-Content-Type-Options': 'nosniff',
  };
  if (head.lastModified) common['Last-Modified'] = head.lastModified.toUTCString();
  if (matchesEtag(req.headers['if-none-match'], head.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  // If-Range with a stale validator means "send the whole current object".
  const ifRange = req.headers['if-range'];
  const rangeAllowed = !ifRange || ifRange === quote(head.etag);
  const range = rangeAllowed ? parseRange(req.headers.range, head.size) : undefined;
  if (range === 'unsatisfiable') {
    throw new HttpError(416, 'RANGE_NOT_SATISFIABLE', 'Requested range is not satisfiable', {
      'Content-Range': `bytes */${head.size}`,
    });
  }
  const result = await driver.get(key, range);
  const headers: Record<string, string | number> = {
    ...common,
    ETag: quote(result.etag),
    'Content-Type': params.type ?? result.contentType ?? 'application/octet-stream',
    'Content-Length': result.contentLength,
  };
  if (params.filename !== undefined) headers['Content-Disposition'] = attachmentDisposition(params.filename);
  if (result.range) headers['Content-Range'] = `bytes ${result.range.start}-${result.range.end}/${result.size}`;
  res.writeHead(result.range ? 206 : 200, headers);
  if (req.method === 'HEAD') {
    result.body.destroy();
    res.end();
    return;
  }
  // A client hanging up mid-download is not an error worth surfacing.
  await pipeline(result.body, res).catch(() => res.destroy());
}

async function servePut(
  driver: LocalStorageDriver,
  key: string,
  params: LocalLinkParams,
  hooks: LocalObjectRouteHooks,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const contentType = req.headers['content-type'];
  if (params.type !== undefined && contentType !== params.type) {
    throw new HttpError(400, 'CONTENT_TYPE_MISMATCH', `Content-Type must be ${params.type}`);
  }
  const declared = req.headers['content-length'];
  if (params.length !== undefined && (declared === undefined || Number(declared) !== params.length)) {
    throw new HttpError(400, 'CONTENT_LENGTH_MISMATCH', `Content-Length must be ${params.length}`);
  }
  await hooks.beforePut?.(key);
  const result = await driver.put(key, req, {
    contentType: params.type ?? contentType,
    maxBytes: params.length ?? hooks.maxBytes,
  });
  await hooks.onPut?.(key, result);
  sendJson(res, 200, { key, size: result.size, etag: result.etag, sha256: result.sha256 }, { ETag: quote(result.etag) });
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof AppError) return new HttpError(err.httpStatus, err.code, err.message);
  if (err instanceof ObjectNotFoundError) return new HttpError(404, err.code, 'Object not found');
  if (err instanceof InvalidKeyError) return new HttpError(400, err.code, err.message);
  if (err instanceof ObjectTooLargeError) return new HttpError(413, err.code, err.message);
  if (err instanceof InvalidRangeError) {
    const headers: Record<string, string> = err.size === undefined ? {} : { 'Content-Range': `bytes */${err.size}` };
    return new HttpError(416, 'RANGE_NOT_SATISFIABLE', err.message, headers);
  }
  return new HttpError(500, 'INTERNAL', 'Internal error');
}

export function createLocalObjectRoute(driver: LocalStorageDriver, hooks: LocalObjectRouteHooks = {}): NodeRouteHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(LOCAL_OBJECTS_PATH)) return false;
    try {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') {
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed`, { Allow: 'GET, HEAD, PUT' });
      }
      const key = keyFromPath(url.pathname);
      const verdict = driver.verifySignedRequest(key, url.searchParams, method === 'PUT' ? 'PUT' : 'GET');
      if (!verdict.ok) throw new HttpError(403, verdict.code, verdict.message);
      if (method === 'PUT') await servePut(driver, key, verdict.params, hooks, req, res);
      else await serveGet(driver, key, verdict.params, req, res);
    } catch (err) {
      const httpError = toHttpError(err);
      if (httpError.status === 500) (hooks.onError ?? ((e) => console.error('local object route failed', e)))(err);
      if (res.headersSent) {
        res.destroy();
        return true;
      }
      // Do not keep reading a rejected upload body over a kept-alive connection.
      const headers = req.method === 'PUT' && !req.complete ? { ...httpError.headers, Connection: 'close' } : httpError.headers;
      sendJson(res, httpError.status, { error: { code: httpError.code, message: httpError.message } }, headers);
    }
    return true;
  };
}
