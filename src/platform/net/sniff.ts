// Content sniffing and MIME helpers. Servers lie about Content-Type; callers
// decide what a file is from its first bytes, and match it against allowed
// MIME patterns (e.g. from a GraphQL `accept: ["image/*"]` argument).
import { fileTypeFromBuffer } from 'file-type';

export interface SniffResult {
  mime: string;
  ext?: string;
}

const utf8Bom = [0xef, 0xbb, 0xbf];

/** Text view of the start of a buffer, without BOM and leading whitespace, lower-cased. */
function leadingText(bytes: Uint8Array, max = 1024): string {
  let start = 0;
  if (bytes.length >= 3 && utf8Bom.every((b, i) => bytes[i] === b)) start = 3;
  const slice = bytes.subarray(start, Math.min(bytes.length, start + max));
  return new TextDecoder('utf-8', { fatal: false }).decode(slice).replace(/^\s+/, '').toLowerCase();
}

// Bytes that never appear in plain text (everything below 0x20 except tab,
// LF, FF, CR and ESC), plus DEL.
function looksBinary(bytes: Uint8Array): boolean {
  for (const b of bytes.subarray(0, 4096)) {
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) || b === 0x7f) return true;
  }
  return false;
}

function isUtf8(bytes: Uint8Array): boolean {
  // The sample may end mid-character; drop up to 3 trailing bytes before judging.
  const sample = bytes.subarray(0, 4096);
  for (let cut = 0; cut <= 3 && cut < sample.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, sample.length - cut));
      return true;
    } catch {
      // try a shorter prefix
    }
  }
  return sample.length === 0;
}

const htmlStarts = ['<!doctype html', '<html', '<head', '<body', '<script', '<iframe', '<title', '<meta', '<div', '<p>', '<p ', '<table', '<h1', '<br', '<a ', '<style', '<font', '<b>'];

function sniffText(bytes: Uint8Array): SniffResult | undefined {
  if (bytes.length === 0 || looksBinary(bytes) || !isUtf8(bytes)) return undefined;
  const text = leadingText(bytes);
  // SVG: either straight away, or after an XML declaration / comments / doctype.
  if (text.startsWith('<svg') || (/^<(\?xml|!--|!doctype svg)/.test(text) && /<svg[\s>]/.test(text))) {
    return { mime: 'image/svg+xml', ext: 'svg' };
  }
  if (htmlStarts.some((s) => text.startsWith(s)) || (text.startsWith('<!--') && /<(html|head|body)[\s>]/.test(text))) {
    return { mime: 'text/html', ext: 'html' };
  }
  if (text.startsWith('<?xml')) return { mime: 'application/xml', ext: 'xml' };
  if (looksLikeJson(bytes, text)) return { mime: 'application/json', ext: 'json' };
  return { mime: 'text/plain', ext: 'txt' };
}

function looksLikeJson(bytes: Uint8Array, lead: string): boolean {
  if (!lead.startsWith('{') && !lead.startsWith('[')) return false;
  try {
    JSON.parse(new TextDecoder().decode(bytes));
    return true;
  } catch {
    // We may only have the first bytes of a larger document: accept a
    // plausible opening ({"key" / {} / [value) rather than a full parse.
    return /^\{\s*("|\})/.test(lead) || /^\[\s*([[{"\-\d\]]|true|false|null)/.test(lead);
  }
}

/**
 * Detects a type from the first bytes (a few KiB is enough). Binary formats
 * via file-type; text formats (HTML, SVG, JSON, plain text) by inspection.
 */
export async function sniffMime(firstBytes: Uint8Array): Promise<SniffResult | undefined> {
  const detected = await fileTypeFromBuffer(firstBytes);
  if (detected && detected.mime !== 'application/xml') return { mime: detected.mime, ext: detected.ext };
  // file-type calls SVG plain XML; look closer.
  return sniffText(firstBytes) ?? (detected ? { mime: detected.mime, ext: detected.ext } : undefined);
}

const token = "[a-z0-9!#$&^_.+-]+";
const patternRe = new RegExp(`^(\\*(/\\*)?|${token}/(\\*|${token}))$`, 'i');

/** `*`, `*\/*`, `type/*` or `type/subtype`. */
export function isValidMimePattern(pattern: string): boolean {
  return patternRe.test(pattern.trim());
}

function essence(mime: string): string {
  return mime.split(';')[0].trim().toLowerCase();
}

/** Does `mime` (parameters ignored) match any of the patterns? Invalid patterns match nothing. */
export function mimeMatches(mime: string, patterns: readonly string[]): boolean {
  const m = essence(mime);
  const slash = m.indexOf('/');
  if (slash <= 0 || slash === m.length - 1) return false;
  const type = m.slice(0, slash);
  return patterns.some((raw) => {
    const p = essence(raw);
    if (!isValidMimePattern(p)) return false;
    if (p === '*' || p === '*/*') return true;
    if (p.endsWith('/*')) return p.slice(0, -2) === type;
    return p === m;
  });
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(',') : v;
  }
  return undefined;
}

function strictInt(s: string): number | undefined {
  if (!/^\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Total size of the resource: the `/total` of Content-Range (`bytes 0-0/12345`,
 * as answered to a probe Range request) when present, else Content-Length.
 * With `partial: false`, only Content-Length counts (size of this body).
 * Undefined when unknown or malformed.
 */
export function parseContentLengthOrRange(headers: HeaderSource, options: { partial?: boolean } = {}): number | undefined {
  if (options.partial !== false) {
    const range = header(headers, 'content-range');
    const m = range ? /^\s*bytes\s+(?:\d+-\d+|\*)\/(\d+)\s*$/i.exec(range) : null;
    if (m) return strictInt(m[1]);
  }
  const length = header(headers, 'content-length');
  if (length === undefined) return undefined;
  // Duplicated identical values ("12, 12") are legal; differing ones are not.
  const values = [...new Set(length.split(',').map((v) => v.trim()))];
  return values.length === 1 ? strictInt(values[0]) : undefined;
}
