// Local fixture servers and generated media for the fetch tests.
import type http from 'node:http';
import sharp from 'sharp';
import { startServer, type TestServer } from '../platform/net/servers.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, server: TestServer) => void;

export function makePng(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer();
}

/** 16-bit mono PCM WAV, `samples` samples of a sine. */
export function makeWav(samples = 8000): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin(i / 3) * 8000), i * 2);
  return Buffer.concat([wavHeader(data.length), data]);
}

export function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(Math.min(36 + dataBytes, 0xffffffff), 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(Math.min(dataBytes, 0xffffffff), 40);
  return h;
}

export const isRanged = (req: http.IncomingMessage) => typeof req.headers.range === 'string';

/** Answers Range: bytes=a-b with 206 like a real file server; otherwise the whole body, optionally trickled. */
export function sendBytes(req: http.IncomingMessage, res: http.ServerResponse, bytes: Buffer, type: string, options: { chunk?: number; delayMs?: number; headers?: Record<string, string> } = {}): void {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (m) {
    const start = Number(m[1]);
    const end = Math.min(m[2] ? Number(m[2]) : bytes.length - 1, bytes.length - 1);
    res.writeHead(206, { 'content-type': type, 'content-range': `bytes ${start}-${end}/${bytes.length}`, 'content-length': end - start + 1, ...options.headers });
    res.end(bytes.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': bytes.length, ...options.headers });
  if (!options.delayMs) return void res.end(bytes);
  const chunk = options.chunk ?? 16 * 1024;
  let at = 0;
  const step = () => {
    if (res.destroyed) return;
    if (at >= bytes.length) return void res.end();
    res.write(bytes.subarray(at, at + chunk));
    at += chunk;
    setTimeout(step, options.delayMs);
  };
  step();
}

export function sendHtml(res: http.ServerResponse, html: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

/** One server, routes by path; unknown paths answer 404. */
export function startRoutes(routes: Record<string, Handler>, host = '127.0.0.1'): Promise<TestServer> {
  return startServer(host, (req, res, server) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const handler = routes[path];
    if (handler) handler(req, res, server);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
}
