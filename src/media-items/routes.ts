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
import { NotFoundError } from '../platform/errors.js';
import { HttpError, type Route } from '../platform/http/router.js';
import { parseId } from '../platform/ids.js';
import type { MediaItemService } from './service.js';
import type { ByteRange } from '../platform/storage/driver.js';
import { InvalidRangeError, ObjectNotFoundError } from '../platform/storage/errors.js';
import { attachmentDisposition } from '../platform/storage/keys.js';
import { verifyDownload } from './signing.js';
import type { MediaItem } from './tables.js';

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

export function mediaItemRoutes(media: MediaItemService): Route[] {
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
      throw new HttpError(416, 'RANGE_NOT_SATISFIABLE', `Range is outside the ${item.mediaSize}-byte object`, { 'content-range': `bytes */${item.mediaSize}` });
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-type': item.mimeType, 'content-length': String(item.mediaSize) }).end();
      return;
    }
    const counts = !range || range.start === 0;
    if (counts) await media.reserveDownload(item);
    let completed = false;
    try {
      const object = await media.objectOf(item).get(item.objectKey, range);
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
        if (err instanceof ObjectNotFoundError) throw new NotFoundError('Media item');
        if (err instanceof InvalidRangeError) throw new HttpError(416, 'RANGE_NOT_SATISFIABLE', err.message, { 'content-range': `bytes */${item.mediaSize}` });
        throw err;
      }
      // A client that went away mid-body is not an error worth a log line.
    } finally {
      if (counts && !completed) await media.releaseDownload(item);
    }
    if (counts && completed) await media.downloadCompleted(item);
  }

  return [
    {
      name: 'media',
      method: 'GET',
      path: '/media/:id',
      // The owner's key, a signed link, or nothing at all for a public item.
      auth: 'optional',
      async handle({ req, res, url, params, account }) {
        const id = parseId(params.id!, 'MediaItem');
        const signed = !!id && url.searchParams.has('sig') && verifyDownload(media.signingSecret, id, url.searchParams);
        const item = id ? await media.findForDownload(id, { signed, accountId: signed ? undefined : account?.id }) : null;
        if (!item) throw new NotFoundError('Media item');
        await serve(req, res, item);
      },
    },
  ];
}
