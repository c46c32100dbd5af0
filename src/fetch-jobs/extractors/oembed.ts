// Pages advertising oEmbed discovery (<link rel="alternate" type="application/json+oembed">):
// the provider's JSON gives title, author, thumbnail, provider and, for photos
// (or providers that add it), the media URL itself.
import { absoluteUrl, scanTags } from './html-scan.js';
import { isHtml, PAGE_LIMIT_BYTES } from './html.js';
import type { Extractor, MediaCandidate } from './types.js';

const OEMBED_LIMIT_BYTES = 256 * 1024;

export function discoverOEmbed(html: string, pageUrl: string): string | undefined {
  const link = scanTags(html).find(
    (t) => t.name === 'link' && /(^|\s)alternate(\s|$)/i.test(t.attrs.rel ?? '') && (t.attrs.type ?? '').toLowerCase().trim() === 'application/json+oembed',
  );
  return absoluteUrl(link?.attrs.href, pageUrl);
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);
const num = (v: unknown): number | null => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;
};

/** The media an oEmbed answer names: `url` for photos, else a direct src inside its html. */
export function oembedMedia(doc: Record<string, unknown>, base: string): MediaCandidate[] {
  const width = num(doc.width);
  const height = num(doc.height);
  const out: MediaCandidate[] = [];
  const direct = absoluteUrl(str(doc.url) ?? undefined, base);
  if (direct && (doc.type === 'photo' || doc.type === 'video' || doc.type === 'audio')) out.push({ url: direct, width, height });
  const html = str(doc.html);
  if (html) {
    for (const tag of scanTags(html)) {
      if ((tag.name === 'video' || tag.name === 'audio' || tag.name === 'source') && tag.attrs.src) {
        const url = absoluteUrl(tag.attrs.src, base);
        if (url) out.push({ url, mimeType: tag.attrs.type?.toLowerCase() ?? null, width, height });
      }
    }
  }
  return out;
}

export const oembedExtractor: Extractor = {
  name: 'oembed',
  match: (_url, head) => isHtml(head),
  async extract(url, head, ctx) {
    const page = await ctx.fetchText(head.url || url, PAGE_LIMIT_BYTES);
    const endpoint = discoverOEmbed(page.text, page.url);
    if (!endpoint) return null;
    const answer = await ctx.fetchText(endpoint, OEMBED_LIMIT_BYTES);
    let doc: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(answer.text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
      doc = parsed as Record<string, unknown>;
    } catch {
      return null;
    }
    return {
      candidates: oembedMedia(doc, answer.url),
      info: {
        title: str(doc.title),
        description: str(doc.description),
        author: str(doc.author_name),
        provider: str(doc.provider_name),
        thumbnailUrl: absoluteUrl(str(doc.thumbnail_url) ?? undefined, answer.url) ?? null,
        duration: num(doc.duration),
        width: num(doc.width),
        height: num(doc.height),
      },
    };
  },
};
