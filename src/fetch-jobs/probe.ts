// Looks at a URL without downloading it: one GET with Range: bytes=0-4095,
// the first bytes sniffed (servers' Content-Type is not trusted), the size
// from Content-Range or Content-Length, image dimensions from those bytes.
import path from 'node:path';
import type { Readable } from 'node:stream';
import sharp from 'sharp';
import { parseContentLengthOrRange, safeFetch, sniffMime, type EgressPolicy } from '../platform/net/index.js';
import type { ProbeResult } from './extractors/types.js';

export const PROBE_BYTES = 4096;

/** Reads at most `limit` bytes of a stream, then stops it: a page or file may be far larger. */
export async function readPrefix(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      chunks.push(buf);
      total += buf.length;
      if (total >= limit) break;
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

/** filename / filename* of Content-Disposition, without any path part. */
export function dispositionFileName(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:[\w-]+)?'[^']*'([^;]+)/i.exec(header);
  let name: string | null = null;
  if (star) {
    try {
      name = decodeURIComponent(star[1].trim());
    } catch {
      name = null;
    }
  }
  name ??= /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header)?.slice(1).find(Boolean)?.replace(/\\(.)/g, '$1').trim() ?? null;
  return name ? cleanFileName(name) : null;
}

/** A file name safe to show and to put in Content-Disposition: no paths, no control characters. */
export function cleanFileName(raw: string): string | null {
  const base = path.posix.basename(raw.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return base && base !== '.' && base !== '..' ? base : null;
}

export function urlFileName(url: string): string | null {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop();
    return last ? cleanFileName(decodeURIComponent(last)) : null;
  } catch {
    return null;
  }
}

export async function imageSize(bytes: Buffer, mime: string | null): Promise<{ width: number | null; height: number | null }> {
  if (!mime?.startsWith('image/') || mime === 'image/svg+xml') return { width: null, height: null };
  try {
    const meta = await sharp(bytes, { failOn: 'none' }).metadata();
    // EXIF orientations 5-8 display rotated by 90°.
    const swap = (meta.orientation ?? 1) >= 5;
    const w = meta.width ?? null;
    const h = meta.height ?? null;
    return swap ? { width: h, height: w } : { width: w, height: h };
  } catch {
    // Not enough of the file in the first bytes to tell.
    return { width: null, height: null };
  }
}

export async function probeUrl(url: string, policy: EgressPolicy, signal?: AbortSignal): Promise<ProbeResult> {
  const res = await safeFetch(url, { policy, signal, headers: { range: `bytes=0-${PROBE_BYTES - 1}`, 'accept-encoding': 'identity' } });
  const firstBytes = await readPrefix(res.body, PROBE_BYTES);
  const sniffed = res.status < 400 && firstBytes.length ? await sniffMime(firstBytes) : undefined;
  const mimeType = sniffed?.mime ?? null;
  // A 206 names the total in Content-Range; a 200 (Range ignored) in Content-Length.
  const size = res.status === 206 || res.status === 200 ? (parseContentLengthOrRange(res.headers) ?? null) : null;
  let fileName = dispositionFileName(res.headers.get('content-disposition')) ?? urlFileName(res.url);
  if (fileName && sniffed?.ext && !path.extname(fileName)) fileName = `${fileName}.${sniffed.ext}`;
  const { width, height } = await imageSize(firstBytes, mimeType);
  return { url: res.url, status: res.status, headers: res.headers, firstBytes, mimeType, size, fileName, width, height };
}
