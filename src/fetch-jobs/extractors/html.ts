// Web pages that point at their media with Open Graph / Twitter card tags or
// HTML5 <video>/<audio>/<source> elements.
import { absoluteUrl, metaMap, scanTags, type Tag } from './html-scan.js';
import type { ExtractedInfo, Extraction, Extractor, MediaCandidate, ProbeResult } from './types.js';

/** Pages are read up to this many bytes; the tags that matter sit in <head>. */
export const PAGE_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * A web page: sniffed as HTML, or declared HTML while its bytes are plain text
 * (a fragment that starts with <link> sniffs as text). Binary bytes never
 * count as a page, whatever the header says.
 */
export function isHtml(head: ProbeResult): boolean {
  if (head.status >= 400) return false;
  if (head.mimeType === 'text/html' || head.mimeType === 'application/xhtml+xml') return true;
  const declared = head.headers.get('content-type')?.split(';')[0].trim().toLowerCase();
  return head.mimeType === 'text/plain' && (declared === 'text/html' || declared === 'application/xhtml+xml');
}

const num = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const n = Number(v.trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
};

/**
 * og:video / og:image are arrays: structured properties (…:width, …:type)
 * belong to the most recent root value, as the Open Graph protocol says.
 */
function ogCandidates(tags: Tag[], base: string, root: 'og:video' | 'og:image'): MediaCandidate[] {
  const out: MediaCandidate[] = [];
  for (const tag of tags) {
    if (tag.name !== 'meta') continue;
    const key = (tag.attrs.property ?? tag.attrs.name)?.toLowerCase().trim();
    const content = tag.attrs.content?.trim();
    if (!key || !content || !(key === root || key.startsWith(`${root}:`))) continue;
    const sub = key.slice(root.length + 1);
    if (sub === '' || sub === 'url' || sub === 'secure_url') {
      const url = absoluteUrl(content, base);
      const last = out[out.length - 1];
      // secure_url describes the same item as the url just before it; prefer it.
      if (url && sub === 'secure_url' && last) last.url = url;
      else if (url) out.push({ url });
      continue;
    }
    const last = out[out.length - 1];
    if (!last) continue;
    if (sub === 'width') last.width = num(content);
    if (sub === 'height') last.height = num(content);
    if (sub === 'type') last.mimeType = content.toLowerCase();
  }
  return out;
}

function elementCandidates(tags: Tag[], base: string): MediaCandidate[] {
  const out: MediaCandidate[] = [];
  let container: Tag | undefined;
  for (const tag of tags) {
    if (tag.name === 'video' || tag.name === 'audio') container = tag;
    if ((tag.name === 'video' || tag.name === 'audio' || tag.name === 'source') && tag.attrs.src) {
      const url = absoluteUrl(tag.attrs.src, base);
      if (!url) continue;
      const from = tag.name === 'source' ? container : tag;
      out.push({
        url,
        mimeType: tag.attrs.type?.split(';')[0].trim().toLowerCase() || null,
        width: num(tag.attrs.width ?? from?.attrs.width),
        height: num(tag.attrs.height ?? from?.attrs.height),
        // Non-standard but common: size="1080" on <source> (resolution) or data-size (bytes).
        size: num(tag.attrs['data-size']),
      });
    }
  }
  return out;
}

/** Bigger is better: declared bytes, then pixels. Video beats audio beats images. */
export function rankCandidates(list: MediaCandidate[]): MediaCandidate[] {
  const kind = (c: MediaCandidate) => (c.mimeType?.startsWith('video/') ? 2 : c.mimeType?.startsWith('audio/') ? 1 : 0);
  const score = (c: MediaCandidate) => [kind(c), c.size ?? 0, (c.width ?? 0) * (c.height ?? 0)];
  return [...list].sort((a, b) => {
    const [x, y] = [score(a), score(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i] - x[i];
    return 0;
  });
}

export function pageInfo(tags: Tag[]): ExtractedInfo {
  const meta = metaMap(tags);
  const first = (...keys: string[]) => {
    for (const k of keys) {
      const v = meta.get(k)?.find((x) => x.length > 0);
      if (v) return v;
    }
    return null;
  };
  const title = first('og:title', 'twitter:title') ?? tags.find((t) => t.name === 'title')?.text ?? null;
  const duration = num(first('og:video:duration', 'video:duration', 'music:duration') ?? undefined);
  return {
    title: title || null,
    description: first('og:description', 'twitter:description', 'description'),
    thumbnailUrl: first('og:image:secure_url', 'og:image', 'og:image:url', 'twitter:image', 'twitter:image:src'),
    author: first('author', 'article:author', 'video:director', 'twitter:creator', 'og:site_name'),
    provider: first('og:site_name'),
    duration,
  };
}

export function extractFromPage(html: string, pageUrl: string): Extraction & { tags: Tag[] } {
  const tags = scanTags(html);
  const baseTag = tags.find((t) => t.name === 'base' && t.attrs.href);
  const base = absoluteUrl(baseTag?.attrs.href, pageUrl) ?? pageUrl;
  const meta = metaMap(tags);
  const videos = ogCandidates(tags, base, 'og:video');
  const stream = absoluteUrl(meta.get('twitter:player:stream')?.[0], base);
  if (stream) {
    const type = meta.get('twitter:player:stream:content_type')?.[0] ?? null;
    videos.push({ url: stream, mimeType: type, width: num(meta.get('twitter:player:width')?.[0]), height: num(meta.get('twitter:player:height')?.[0]) });
  }
  const elements = elementCandidates(tags, base);
  // A page's og:image is its thumbnail when it also has video or audio; otherwise it is the media.
  const media = [...videos, ...elements];
  const candidates = rankCandidates(media.length ? media : ogCandidates(tags, base, 'og:image'));
  const info = pageInfo(tags);
  if (info.thumbnailUrl) info.thumbnailUrl = absoluteUrl(info.thumbnailUrl, base) ?? null;
  const best = candidates[0];
  return { tags, candidates, info: { ...info, width: best?.width ?? null, height: best?.height ?? null } };
}

export const htmlExtractor: Extractor = {
  name: 'html',
  match: (_url, head) => isHtml(head),
  async extract(url, head, ctx) {
    const page = await ctx.fetchText(head.url || url, PAGE_LIMIT_BYTES);
    const found = extractFromPage(page.text, page.url);
    return found.candidates.length ? { candidates: found.candidates, info: found.info } : null;
  },
};
