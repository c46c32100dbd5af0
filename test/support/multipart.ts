// A raw GraphQL multipart client for limits and attacks: file bytes are
// generated as they are sent (nothing large in the test's memory), and the
// client can stop halfway — go away (abort) or end a body early (truncate).
// It reports how much of the body the server had taken when it answered.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

export interface FilePart {
  name: string;
  filename: string;
  size: number;
}

export interface MultipartRequest {
  url: string;
  headers?: Record<string, string>;
  /** JSON-encoded unless already a string. */
  operations?: unknown;
  map?: unknown;
  files?: FilePart[];
  /** Destroy the connection once this many body bytes are written (the client goes away). */
  abortAfter?: number;
  /** Runs once `abortAfter` bytes are out, before the connection goes. */
  beforeAbort?: () => Promise<void>;
  /** Send only this many body bytes, declared as the whole body (the form ends early). */
  truncateAt?: number;
  /** Defaults to multipart/form-data with the boundary. */
  contentType?: string;
  /** false: no Content-Length (chunked), so the server cannot refuse by the header alone. */
  declareLength?: boolean;
}

export interface MultipartOutcome {
  status?: number;
  body?: any;
  headers?: http.IncomingHttpHeaders;
  /** Body bytes written when the response arrived (or the connection ended). */
  sentBytes: number;
  totalBytes: number;
  error?: string;
}

const CHUNK = Buffer.alloc(1024 * 1024, 0x61);

function* bodyChunks(boundary: string, request: MultipartRequest): Generator<Buffer> {
  const field = (name: string, value: unknown) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${typeof value === 'string' ? value : JSON.stringify(value)}\r\n`);
  if (request.operations !== undefined) yield field('operations', request.operations);
  if (request.map !== undefined) yield field('map', request.map);
  for (const file of request.files ?? []) {
    yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    for (let left = file.size; left > 0; left -= CHUNK.length) yield left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    yield Buffer.from('\r\n');
  }
  yield Buffer.from(`--${boundary}--\r\n`);
}

function bodyLength(boundary: string, request: MultipartRequest): number {
  let total = 0;
  for (const chunk of bodyChunks(boundary, { ...request, files: request.files?.map((f) => ({ ...f, size: 0 })) })) total += chunk.length;
  return total + (request.files ?? []).reduce((sum, f) => sum + f.size, 0);
}

export function postMultipart(request: MultipartRequest): Promise<MultipartOutcome> {
  const boundary = `----mg${randomBytes(8).toString('hex')}`;
  const totalBytes = bodyLength(boundary, request);
  const sendBytes = Math.min(request.truncateAt ?? totalBytes, request.abortAfter ?? totalBytes);
  const url = new URL(request.url);
  return new Promise((resolve) => {
    let sentBytes = 0;
    let answered = false;
    let finished = false;
    const done = (outcome: Omit<MultipartOutcome, 'sentBytes' | 'totalBytes'>) => {
      if (finished) return;
      finished = true;
      resolve({ ...outcome, sentBytes, totalBytes });
    };
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: {
        'content-type': request.contentType ?? `multipart/form-data; boundary=${boundary}`,
        ...(request.declareLength === false ? {} : { 'content-length': String(request.abortAfter !== undefined ? totalBytes : sendBytes) }),
        ...request.headers,
      },
    });
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => done({ status: res.statusCode, headers: res.headers, error: 'response broke off' }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON; keep the text
        }
        done({ status: res.statusCode, headers: res.headers, body });
        // An answer before the whole body went out is a refusal: stop sending.
        if (!req.writableFinished) req.destroy();
      });
    });
    req.on('error', (err) => {
      // Writing into a connection the server closed after answering is expected; wait for the answer.
      if (!answered) setTimeout(() => done({ error: err.message }), 200);
    });
    const write = async () => {
      for (const chunk of bodyChunks(boundary, request)) {
        if (answered || req.destroyed) return;
        const piece = chunk.subarray(0, Math.max(0, sendBytes - sentBytes));
        if (piece.length === 0) break;
        sentBytes += piece.length;
        if (!req.write(piece)) {
          await new Promise<void>((ok) => {
            const go = () => {
              req.off('drain', go);
              req.off('close', go);
              req.off('response', go);
              ok();
            };
            req.on('drain', go);
            req.on('close', go);
            req.on('response', go);
          });
        }
      }
      if (request.abortAfter !== undefined && sentBytes >= request.abortAfter) {
        // Let the bytes reach the server, then vanish mid-body.
        await new Promise((ok) => setTimeout(ok, 5));
        await request.beforeAbort?.();
        req.destroy();
        done({ error: 'aborted by the client' });
        return;
      }
      if (!answered && !req.destroyed) req.end();
    };
    write().catch((err: Error) => done({ error: err.message }));
  });
}
