// A small in-process GCS emulator: just the JSON-API calls @google-cloud/storage
// v7 makes for GcsStorageDriver (object get/delete, resumable uploads, rewrite
// for copies), plus V4 signed XML-API GET/PUT. Object bytes
// live in a temp dir so large objects do not sit in memory.
import { createHash, createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface GcsEmulatorOptions {
  buckets?: string[];
  /** PEM; when given, signed URLs must carry a valid RSA signature from its key */
  publicKey?: string;
}

export interface GcsEmulator {
  url: string;
  /** objects stored and upload sessions still open, for leak assertions */
  stats(): { objects: number; openSessions: number };
  close(): Promise<void>;
}

interface StoredObject { file: string; size: number; md5: string; contentType: string; contentEncoding?: string; generation: number; updated: Date }
interface Session { bucket: string; name: string; contentType: string; contentEncoding?: string; file: string; offset: number }

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gcs-emulator-'));
  const buckets = new Set(options.buckets ?? ['media-test']);
  const publicKey: KeyObject | undefined = options.publicKey ? createPublicKey(options.publicKey) : undefined;
  const objects = new Map<string, StoredObject>(); // `${bucket}/${name}`
  const sessions = new Map<string, Session>();
  let generation = 1;
  let origin = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  const resource = (bucket: string, name: string, o: StoredObject) => ({
    kind: 'storage#object', id: `${bucket}/${name}/${o.generation}`, bucket, name,
    generation: String(o.generation), metageneration: '1', contentType: o.contentType, contentEncoding: o.contentEncoding,
    size: String(o.size), md5Hash: Buffer.from(o.md5, 'hex').toString('base64'),
    etag: `${o.md5}-${o.generation}`, updated: o.updated.toISOString(), timeCreated: o.updated.toISOString(),
  });
  const lookup = (bucket: string, name: string) => {
    if (!buckets.has(bucket)) throw new HttpError(404, `No such bucket ${bucket}`);
    const found = objects.get(`${bucket}/${name}`);
    if (!found) throw new HttpError(404, `No such object ${bucket}/${name}`);
    return found;
  };

  /** Streams the request body to a temp file; only a body that fully arrived becomes an object. */
  async function receive(req: IncomingMessage, file: string, flags: 'w' | 'a'): Promise<number> {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    await pipeline(req, createWriteStream(file, { flags }));
    return bytes;
  }

  async function commit(bucket: string, name: string, file: string, contentType: string, contentEncoding?: string): Promise<StoredObject> {
    const md5 = createHash('md5');
    await pipeline(createReadStream(file), md5);
    const target = path.join(dir, randomUUID());
    await rename(file, target);
    const previous = objects.get(`${bucket}/${name}`);
    if (previous) await rm(previous.file, { force: true });
    const o: StoredObject = {
      file: target, size: (await stat(target)).size, md5: md5.digest('hex'),
      contentType: contentType || 'application/octet-stream', contentEncoding, generation: generation++, updated: new Date(),
    };
    objects.set(`${bucket}/${name}`, o);
    return o;
  }

  /** Serves a whole object or one `bytes=a-b` range (the SDK sends exactly that form). */
  async function download(req: IncomingMessage, res: ServerResponse, o: StoredObject, extra: Record<string, string> = {}) {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const headers: Record<string, string | number> = { 'Content-Type': o.contentType, ETag: `"${o.md5}"`, ...extra };
    if (!m) {
      res.writeHead(200, { ...headers, 'Content-Length': o.size });
      await pipeline(createReadStream(o.file), res);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(m[2] === '' ? o.size - 1 : Number(m[2]), o.size - 1);
    if (start >= o.size || end < start) {
      res.writeHead(416, { 'Content-Range': `bytes */${o.size}` }).end();
      return;
    }
    res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${o.size}` });
    await pipeline(createReadStream(o.file, { start, end }), res);
  }

  // --- JSON API: bucket get (check), object get / alt=media / delete / rewrite ----
  async function jsonApi(req: IncomingMessage, res: ServerResponse, url: URL) {
    // Object names are one encoded path segment each ("a%2Fb").
    const rewrite = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)\/rewriteTo\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
    if (rewrite) {
      if (req.method !== 'POST') throw new HttpError(405, 'Method not allowed');
      const [from, name, toBucket, toName] = rewrite.slice(1).map(decodeURIComponent) as [string, string, string, string];
      const source = lookup(from, name);
      if (!buckets.has(toBucket)) throw new HttpError(404, `No such bucket ${toBucket}`);
      req.resume();
      const file = path.join(dir, `copy-${randomUUID()}`);
      await copyFile(source.file, file);
      const o = await commit(toBucket, toName, file, source.contentType);
      // Done in one call; the SDK would follow a rewriteToken otherwise.
      return json(res, 200, { kind: 'storage#rewriteResponse', totalBytesRewritten: String(o.size), objectSize: String(o.size), done: true, resource: resource(toBucket, toName, o) });
    }
    const m = /^\/storage\/v1\/b\/([^/]+)(?:\/o\/(.+))?$/.exec(url.pathname);
    if (!m) throw new HttpError(404, `Unknown JSON API path ${url.pathname}`);
    const bucket = decodeURIComponent(m[1]);
    if (m[2] === undefined) {
      if (req.method !== 'GET' || !buckets.has(bucket)) throw new HttpError(404, `No such bucket ${bucket}`);
      return json(res, 200, { kind: 'storage#bucket', id: bucket, name: bucket });
    }
    const name = decodeURIComponent(m[2]);
    const o = lookup(bucket, name);
    if (req.method === 'DELETE') {
      objects.delete(`${bucket}/${name}`);
      await rm(o.file, { force: true });
      return res.writeHead(204).end();
    }
    if (req.method !== 'GET') throw new HttpError(405, 'Method not allowed');
    if (url.searchParams.get('alt') === 'media') return download(req, res, o);
    return json(res, 200, resource(bucket, name, o));
  }

  // --- Resumable uploads: POST starts a session, PUTs append, DELETE cancels ------
  async function uploadApi(req: IncomingMessage, res: ServerResponse, url: URL) {
    const m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (!m) throw new HttpError(404, `Unknown upload path ${url.pathname}`);
    const bucket = decodeURIComponent(m[1]);
    if (!buckets.has(bucket)) throw new HttpError(404, `No such bucket ${bucket}`);
    if (req.method === 'POST') {
      if (url.searchParams.get('uploadType') !== 'resumable') throw new HttpError(400, 'Only resumable uploads are emulated');
      const name = url.searchParams.get('name');
      if (!name) throw new HttpError(400, 'name is required');
      let body = '';
      for await (const chunk of req) body += chunk;
      const metadata = body ? (JSON.parse(body) as { contentType?: string; contentEncoding?: string }) : {};
      const id = randomUUID();
      const contentType = String(req.headers['x-upload-content-type'] ?? metadata.contentType ?? '');
      sessions.set(id, { bucket, name, contentType, contentEncoding: metadata.contentEncoding, file: path.join(dir, `upload-${id}`), offset: 0 });
      res.writeHead(200, { Location: `${origin}${url.pathname}?uploadType=resumable&upload_id=${id}` }).end();
      return;
    }
    const id = url.searchParams.get('upload_id') ?? '';
    const session = sessions.get(id);
    if (!session) throw new HttpError(404, 'No such upload session');
    if (req.method === 'DELETE') {
      sessions.delete(id);
      await rm(session.file, { force: true });
      return res.writeHead(499).end();
    }
    if (req.method !== 'PUT') throw new HttpError(405, 'Method not allowed');
    // Forms the SDK sends: `bytes a-b/N|*` (chunk), `bytes a-*/*` (rest of the
    // object in this request), `bytes */N|*` (status query).
    const cr = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(req.headers['content-range'] ?? 'bytes 0-*/*');
    if (!cr) throw new HttpError(400, 'Bad Content-Range');
    const [, first, last, total] = cr;
    if (first !== undefined) {
      if (Number(first) !== session.offset) throw new HttpError(400, `Expected offset ${session.offset}`);
      session.offset += await receive(req, session.file, 'a');
    }
    const complete = total !== '*' ? session.offset === Number(total) : first !== undefined && last === '*';
    if (!sessions.has(id)) throw new HttpError(404, 'Upload session was cancelled');
    if (!complete) {
      const range = session.offset > 0 ? { Range: `bytes=0-${session.offset - 1}` } : {};
      return res.writeHead(308, range).end();
    }
    sessions.delete(id);
    const o = await commit(session.bucket, session.name, session.file, session.contentType, session.contentEncoding);
    return json(res, 200, resource(session.bucket, session.name, o));
  }

  // --- V4 signed XML API: GET/HEAD/PUT /<bucket>/<object>?X-Goog-Signature=... ----
  function checkSignature(req: IncomingMessage, url: URL) {
    const q = url.searchParams;
    const date = q.get('X-Goog-Date') ?? '';
    const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    if (!dm || !q.get('X-Goog-Expires') || !q.get('X-Goog-Signature')) throw new HttpError(403, 'Not a signed request');
    const signedAt = Date.UTC(+dm[1], +dm[2] - 1, +dm[3], +dm[4], +dm[5], +dm[6]);
    if (Date.now() > signedAt + Number(q.get('X-Goog-Expires')) * 1000) throw new HttpError(403, 'ExpiredToken');
    if (!publicKey) return;
    const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const query = [...q].filter(([k]) => k !== 'X-Goog-Signature').map(([k, v]) => [enc(k), enc(v)]);
    query.sort(([a], [b]) => (a < b ? -1 : 1));
    const signedHeaders = q.get('X-Goog-SignedHeaders') ?? '';
    const headers = signedHeaders.split(';').map((h) => {
      const raw = h === 'host' ? (req.headers.host ?? '').replace(/:\d+$/, '') : req.headers[h];
      return `${h}:${String(raw ?? '').trim().replace(/\s{2,}/g, ' ')}\n`;
    });
    const canonical = [req.method === 'HEAD' ? 'GET' : req.method, url.pathname, query.map(([k, v]) => `${k}=${v}`).join('&'),
      headers.join(''), signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
    const scope = (q.get('X-Goog-Credential') ?? '').split('/').slice(1).join('/');
    const blob = ['GOOG4-RSA-SHA256', date, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    if (!verify('sha256', Buffer.from(blob), publicKey, Buffer.from(q.get('X-Goog-Signature') ?? '', 'hex'))) {
      throw new HttpError(403, 'SignatureDoesNotMatch');
    }
  }

  async function xmlApi(req: IncomingMessage, res: ServerResponse, url: URL) {
    checkSignature(req, url);
    const m = /^\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) throw new HttpError(404, 'Unknown path');
    const bucket = decodeURIComponent(m[1]);
    const name = decodeURIComponent(m[2]);
    if (req.method === 'PUT') {
      if (!buckets.has(bucket)) throw new HttpError(404, `No such bucket ${bucket}`);
      const range = /^(\d+),(\d+)$/.exec(String(req.headers['x-goog-content-length-range'] ?? ''));
      const length = Number(req.headers['content-length']);
      if (range && !(length >= Number(range[1]) && length <= Number(range[2]))) throw new HttpError(400, 'EntityTooLarge/Small');
      const file = path.join(dir, `put-${randomUUID()}`);
      await receive(req, file, 'w');
      const o = await commit(bucket, name, file, String(req.headers['content-type'] ?? ''));
      return res.writeHead(200, { ETag: `"${o.md5}"` }).end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Method not allowed');
    const o = lookup(bucket, name);
    const extra: Record<string, string> = {};
    const disposition = url.searchParams.get('response-content-disposition');
    if (disposition) extra['Content-Disposition'] = disposition;
    const type = url.searchParams.get('response-content-type');
    if (type) extra['Content-Type'] = type;
    if (req.method === 'HEAD') return res.writeHead(200, { 'Content-Length': o.size, ETag: `"${o.md5}"`, ...extra }).end();
    return download(req, res, o, extra);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const route = url.pathname.startsWith('/storage/v1/') ? jsonApi : url.pathname.startsWith('/upload/storage/v1/') ? uploadApi : xmlApi;
    route(req, res, url).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (res.headersSent) return res.destroy();
      req.resume();
      json(res, status, { error: { code: status, message: err instanceof Error ? err.message : String(err) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    stats: () => ({ objects: objects.size, openSessions: sessions.size }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
