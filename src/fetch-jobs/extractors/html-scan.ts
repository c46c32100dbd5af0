// A small tag scanner for the few elements extractors read (<meta>, <link>,
// <video>, <audio>, <source>, <title>). No HTML parser is installed, and a full
// one is not needed: we only want start tags and their attributes, skipping
// comments, scripts and styles so text inside them cannot fake a tag.

export interface Tag {
  name: string;
  attrs: Record<string, string>;
  /** For <title>: its text. */
  text?: string;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', '#39': "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z][a-z0-9]{1,8});?/gi, (whole, ref: string) => {
    const lower = ref.toLowerCase();
    if (lower.startsWith('#x') || lower.startsWith('#')) {
      const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
      // Out-of-range and surrogate code points are not characters.
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return NAMED[lower] ?? whole;
  });
}

const WANTED = new Set(['meta', 'link', 'video', 'audio', 'source', 'title', 'base']);
// Their content is raw text: a "<meta" inside must not count.
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'noscript']);

/** Attributes of one start tag, from just after its name to its closing '>'. Returns where it ended. */
function readAttributes(html: string, from: number): { attrs: Record<string, string>; end: number } {
  const attrs: Record<string, string> = {};
  let i = from;
  const n = html.length;
  while (i < n) {
    while (i < n && /[\s/]/.test(html[i])) i++;
    if (i >= n || html[i] === '>') break;
    const nameStart = i;
    while (i < n && !/[\s/>=]/.test(html[i])) i++;
    const name = html.slice(nameStart, i).toLowerCase();
    while (i < n && /\s/.test(html[i])) i++;
    let value = '';
    if (html[i] === '=') {
      i++;
      while (i < n && /\s/.test(html[i])) i++;
      const quote = html[i];
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, i + 1);
        const stop = close < 0 ? n : close;
        value = html.slice(i + 1, stop);
        i = stop + 1;
      } else {
        const valueStart = i;
        while (i < n && !/[\s>]/.test(html[i])) i++;
        value = html.slice(valueStart, i);
      }
    }
    // The first occurrence wins, as in browsers.
    if (name && !(name in attrs)) attrs[name] = decodeEntities(value);
  }
  return { attrs, end: i };
}

export function scanTags(html: string): Tag[] {
  const tags: Tag[] = [];
  let i = 0;
  const n = html.length;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    if (html.startsWith('<!--', lt)) {
      const close = html.indexOf('-->', lt + 4);
      i = close < 0 ? n : close + 3;
      continue;
    }
    const m = /^<([a-zA-Z][a-zA-Z0-9:-]*)/.exec(html.slice(lt, lt + 40));
    if (!m) {
      i = lt + 1;
      continue;
    }
    const name = m[1].toLowerCase();
    const { attrs, end } = readAttributes(html, lt + m[0].length);
    i = end + 1;
    if (RAW_TEXT.has(name) || name === 'title') {
      const closeRe = new RegExp(`</${name}\\s*>`, 'ig');
      closeRe.lastIndex = i;
      const close = closeRe.exec(html);
      const textEnd = close ? close.index : n;
      if (name === 'title') tags.push({ name, attrs, text: decodeEntities(html.slice(i, textEnd)).replace(/\s+/g, ' ').trim() });
      i = close ? close.index + close[0].length : n;
      continue;
    }
    if (WANTED.has(name)) tags.push({ name, attrs });
  }
  return tags;
}

/** <meta property|name=KEY content=…>, first value per lower-cased key (all values under getAll). */
export function metaMap(tags: Tag[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const tag of tags) {
    if (tag.name !== 'meta') continue;
    const key = (tag.attrs.property ?? tag.attrs.name ?? tag.attrs.itemprop)?.toLowerCase().trim();
    const content = tag.attrs.content;
    if (!key || content === undefined) continue;
    const list = map.get(key) ?? [];
    list.push(content.trim());
    map.set(key, list);
  }
  return map;
}

/** Resolves a possibly relative reference against the page; undefined for non-http(s) or junk. */
export function absoluteUrl(ref: string | undefined, base: string): string | undefined {
  if (!ref) return undefined;
  try {
    const u = new URL(ref.trim(), base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}
