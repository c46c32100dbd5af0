// What extractors see and return. Adding a platform is adding an Extractor.
import type { EgressPolicy } from '../../platform/net/index.js';

/** The answer to a ranged probe of a URL (Range: bytes=0-4095). */
export interface ProbeResult {
  /** Final URL after redirects. */
  url: string;
  status: number;
  headers: Headers;
  /** At most the first 4 KiB of the body. */
  firstBytes: Buffer;
  /** Sniffed from firstBytes, not taken from Content-Type. */
  mimeType: string | null;
  /** Whole resource: Content-Range total, else Content-Length of a full answer. */
  size: number | null;
  fileName: string | null;
  width: number | null;
  height: number | null;
}

/** A media URL an extractor found, with what the page declared about it. */
export interface MediaCandidate {
  url: string;
  mimeType?: string | null;
  width?: number | null;
  height?: number | null;
  size?: number | null;
}

export interface ExtractedInfo {
  title?: string | null;
  description?: string | null;
  thumbnailUrl?: string | null;
  author?: string | null;
  provider?: string | null;
  duration?: number | null;
  width?: number | null;
  height?: number | null;
}

export interface Extraction {
  /** Best first. */
  candidates: MediaCandidate[];
  info: ExtractedInfo;
}

export interface ExtractContext {
  policy: EgressPolicy;
  signal?: AbortSignal;
  /** Ranged probe through the safe fetcher (cached per URL within one inspection). */
  probe(url: string): Promise<ProbeResult>;
  /** Reads a text document (page, oEmbed JSON) through the safe fetcher, capped. */
  fetchText(url: string, limitBytes?: number): Promise<{ url: string; text: string; contentType: string | null }>;
}

export interface Extractor {
  name: string;
  match(url: string, head: ProbeResult): boolean;
  /** null: it matched on the surface but found nothing; the next extractor is tried. */
  extract(url: string, head: ProbeResult, ctx: ExtractContext): Promise<Extraction | null>;
}

export const VERDICTS = ['ALLOWED', 'URL_NOT_ALLOWED', 'MIME_NOT_ACCEPTED', 'TOO_LARGE', 'NO_MEDIA', 'UNREACHABLE'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** inspectUrl's answer, also kept on the job row (JSON). */
export interface UrlMetadata {
  url: string;
  extractor: string | null;
  /** The media the job would download (the URL itself for direct media). */
  mediaUrl: string | null;
  title: string | null;
  description: string | null;
  thumbnailUrl: string | null;
  author: string | null;
  provider: string | null;
  duration: number | null;
  mimeType: string | null;
  size: number | null;
  fileName: string | null;
  width: number | null;
  height: number | null;
  verdict: Verdict;
  verdictReason: string | null;
}
