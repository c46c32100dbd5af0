// GET /media/:id — streams an item to its owner (API key), to anyone holding a
// signed link, or to anyone at all when the item is public. Whatever the
// reason a caller may not see an item, the answer is the same 404 as for an
// id that does not exist.
//
// What counts as a download: a response that sends the body from byte 0
// (a plain GET, or a Range that starts at 0) and runs to the end. The count is
// reserved atomically before the first byte and given back if the client goes
// away early, so a limit of N serves exactly N whatever the concurrency.
// 304s, HEADs and Range continuations (start > 0) do not count; on items with
// a download limit Range is ignored, so continuations cannot dodge the limit.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { HttpRoute } from '../app.js';
import { readCredentials } from '../auth/credentials.js';
import { AppError } from '../errors.js';
import { sendAppError, sendError } from '../http/respond.js';
import type { AppServices } from '../services.js';
import type { ByteRange } from '../storage/driver.js';
import { InvalidRangeError, ObjectNotFoundError } from '../storage/errors.js';
import { attachmentDisposition } from '../storage/keys.js';
import { verifyDownload } from './signing.js';
import type { MediaItem } from './tables.js';
import { parseItemId } from './validation.js';

const PATH = /^\/media\/([^/]+)\/?$/;

/** Single `bytes=a-b`, `bytes=a-` or `bytes=-n`; anything else is ignored (RFC 9110 allows that). */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  if (end !== undefined && end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: end === undefined ? undefined : Math.min(end, size - 1) };
}

const etagMatches = (header: string | undefined, etag: string) =>
  !!header && (header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag));

export function mediaDownloadRoute(services: AppServices): HttpRoute {
  const media = () => services.mediaItems;
  async function caller(req: IncomingMessage): Promise<string | undefined> {
    const credentials = readCredentials({ get: (name) => req.headers[name] as string | undefined });
    if (!credentials.ok) return undefined;
    const auth = await services.accounts.authenticate(credentials);
    return auth.ok ? auth.account.id : undefined;
  }

  async function serve(req: IncomingMessage, res: ServerResponse, item: MediaItem): Promise<void> {
    const etag = `"${item.etag}"`;
    const headers: Record<string, string> = {
      etag,
      'accept-ranges': item.maxDownloadsAllowed == null ? 'bytes' : 'none',
      'content-disposition': attachmentDisposition(item.originalFileName),
      'cache-control': item.public ? 'public, no-cache' : 'private, no-cache',
      'x-content-type-options': 'nosniff',
    };
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    const range = item.maxDownloadsAllowed == null ? parseRange(req.headers.range, item.mediaSize) : undefined;
    if (range === 'unsatisfiable') {
      sendError(res, 'RANGE_NOT_SATISFIABLE', `Range is outside the ${item.mediaSize}-byte object`, 416, { 'content-range': `bytes */${item.mediaSize}` });
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-type': item.mimeType, 'content-length': String(item.mediaSize) }).end();
      return;
    }
    const counts = !range || range.start === 0;
    if (counts) await media().reserveDownload(item);
    let completed = false;
    try {
      const object = await services.storage.forUrl(item.storageLocation).get(item.objectKey, range);
      const partial = object.range && range;
      res.writeHead(partial ? 206 : 200, {
        ...headers,
        'content-type': item.mimeType,
        'content-length': String(object.contentLength),
        ...(partial ? { 'content-range': `bytes ${object.range!.start}-${object.range!.end}/${object.size}` } : {}),
      });
      await pipeline(object.body, res);
      completed = true;
    } catch (err) {
      if (!res.headersSent) {
        if (err instanceof ObjectNotFoundError) sendError(res, 'NOT_FOUND', 'Media item not found', 404);
        else if (err instanceof InvalidRangeError) sendError(res, 'RANGE_NOT_SATISFIABLE', err.message, 416, { 'content-range': `bytes */${item.mediaSize}` });
        else throw err;
      }
      // A client that went away mid-body is not an error worth a log line.
    } finally {
      if (counts && !completed) await media().releaseDownload(item);
    }
    if (counts && completed) await media().downloadCompleted(item);
  }

  return {
    name: 'media',
    async handle(req, res, url) {
      const match = PATH.exec(url.pathname);
      if (!match) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on media items`, 405, { allow: 'GET, HEAD' });
        return true;
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(match[1]);
      } catch {
        decoded = '';
      }
      const id = parseItemId(decoded);
      const signed = !!id && url.searchParams.has('sig') && verifyDownload(media().signingSecret, id, url.searchParams);
      const item = id ? await media().findForDownload(id, { signed, accountId: signed ? undefined : await caller(req) }) : null;
      if (!item) {
        sendError(res, 'NOT_FOUND', 'Media item not found', 404);
        return true;
      }
      try {
        await serve(req, res, item);
      } catch (err) {
        if (err instanceof AppError && !res.headersSent) sendAppError(res, err);
        else throw err;
      }
      return true;
    },
  };
}
