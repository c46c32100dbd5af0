// Finds out what a URL is and what a fetch would store, without storing
// anything: the extractor chain, then a ranged probe of the chosen media.
import path from 'node:path';
import { mimeMatches, safeFetch, type EgressPolicy } from '../platform/net/index.js';
import { EXTRACTORS } from './extractors/index.js';
import type { ExtractContext, Extraction, ProbeResult, UrlMetadata, Verdict } from './extractors/types.js';
import { describeFailure, JobFailure } from '../jobs/failures.js';
import { probeUrl, readPrefix } from './probe.js';

/** Candidates probed before giving up on a page. */
const MAX_CANDIDATES = 3;

export interface InspectOptions {
  policy: EgressPolicy;
  maxBytes: number;
  expectedMimeTypes?: readonly string[] | null;
  signal?: AbortSignal;
}

export interface Inspection {
  metadata: UrlMetadata;
  /** The probe of the media URL, when one was found and answered. */
  media?: ProbeResult;
}

function context(options: InspectOptions): ExtractContext {
  const probes = new Map<string, Promise<ProbeResult>>();
  const texts = new Map<string, Promise<{ url: string; text: string; contentType: string | null }>>();
  return {
    policy: options.policy,
    signal: options.signal,
    probe(url) {
      let p = probes.get(url);
      if (!p) probes.set(url, (p = probeUrl(url, options.policy, options.signal)));
      return p;
    },
    fetchText(url, limitBytes = 1024 * 1024) {
      let p = texts.get(url);
      if (!p) {
        p = (async () => {
          const res = await safeFetch(url, { policy: options.policy, signal: options.signal, headers: { accept: 'text/html,application/json;q=0.9,*/*;q=0.5' } });
          res.assertOk();
          // Truncate rather than refuse: what matters in a page sits near its top.
          const bytes = await readPrefix(res.body, limitBytes);
          return { url: res.url, text: new TextDecoder().decode(bytes), contentType: res.headers.get('content-type') };
        })();
        texts.set(url, p);
      }
      return p;
    },
  };
}

export const emptyMetadata = (url: string): UrlMetadata => ({
  url, extractor: null, mediaUrl: null, title: null, description: null, thumbnailUrl: null, author: null, provider: null,
  duration: null, mimeType: null, size: null, fileName: null, width: null, height: null, verdict: 'ALLOWED', verdictReason: null,
});

/** Throws the first refusal (egress, HTTP status, MIME, size) as a typed error; else returns what was found. */
export async function resolveMedia(url: string, options: InspectOptions, meta: UrlMetadata): Promise<ProbeResult> {
  const ctx = context(options);
  const head = await ctx.probe(url);
  if (head.status >= 400) throw new JobFailure(`HTTP_${head.status}`, `The server answered HTTP ${head.status}`, head.status >= 500 || head.status === 429 || head.status === 408);
  let found: Extraction | null = null;
  for (const extractor of EXTRACTORS) {
    if (!extractor.match(url, head)) continue;
    found = await extractor.extract(url, head, ctx);
    if (found) {
      meta.extractor = extractor.name;
      break;
    }
  }
  if (!found) throw new JobFailure('NO_MEDIA', 'No media found at this URL');
  const { info } = found;
  Object.assign(meta, {
    title: info.title ?? null, description: info.description ?? null, thumbnailUrl: info.thumbnailUrl ?? null, author: info.author ?? null,
    provider: info.provider ?? null, duration: info.duration ?? null, width: info.width ?? null, height: info.height ?? null,
  });
  if (!found.candidates.length) throw new JobFailure('NO_MEDIA', `The ${meta.extractor} extractor found metadata but no media URL`);
  // Best first; a page's top candidate may be dead while the next one works.
  let best = found.candidates[0];
  let media = best.url === head.url ? head : await ctx.probe(best.url);
  for (const next of found.candidates.slice(1, MAX_CANDIDATES)) {
    if (media.status < 400) break;
    const probed = await ctx.probe(next.url).catch(() => undefined);
    if (probed && probed.status < 400) [best, media] = [next, probed];
  }
  meta.mediaUrl = best.url;
  if (media.status >= 400) throw new JobFailure(`HTTP_${media.status}`, `The media URL answered HTTP ${media.status}`, media.status >= 500);
  meta.mimeType = media.mimeType ?? best.mimeType ?? null;
  meta.size = media.size ?? best.size ?? null;
  meta.fileName = media.fileName;
  meta.width = media.width ?? meta.width;
  meta.height = media.height ?? meta.height;
  const accepted = options.expectedMimeTypes?.length ? options.expectedMimeTypes : null;
  if (accepted && !(meta.mimeType && mimeMatches(meta.mimeType, accepted))) {
    throw new JobFailure('MIME_NOT_ACCEPTED', `The media is ${meta.mimeType ?? 'of unknown type'}; accepted: ${accepted.join(', ')}`);
  }
  if (meta.size !== null && meta.size > options.maxBytes) {
    throw new JobFailure('TOO_LARGE', `The media is ${meta.size} bytes; the limit is ${options.maxBytes}`);
  }
  return media;
}

function verdictOf(code: string): Verdict {
  if (code === 'URL_NOT_ALLOWED' || code === 'MIME_NOT_ACCEPTED' || code === 'TOO_LARGE' || code === 'NO_MEDIA') return code;
  return 'UNREACHABLE';
}

/** Never throws for anything about the URL: refusals become the verdict. */
export async function inspect(url: string, options: InspectOptions): Promise<Inspection> {
  const metadata = emptyMetadata(url);
  try {
    const media = await resolveMedia(url, options, metadata);
    return { metadata, media };
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const failure = describeFailure(err, options.maxBytes);
    metadata.verdict = verdictOf(failure.code);
    metadata.verdictReason = failure.code === metadata.verdict ? failure.message : `${failure.code}: ${failure.message}`;
    return { metadata };
  }
}

/** The name a fetched file gets: the caller's, else the server's, else one from the type. */
export function chooseFileName(requested: string | null | undefined, meta: UrlMetadata, ext?: string): string {
  const name = requested || meta.fileName || 'media';
  return path.extname(name) || !ext ? name : `${name}.${ext}`;
}
