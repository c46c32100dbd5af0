// The extractor registry, tried in order. Adding a platform is adding a module
// here (before `html` if it should win over generic page tags).
import { directExtractor } from './direct.js';
import { htmlExtractor } from './html.js';
import { oembedExtractor } from './oembed.js';
import type { Extractor } from './types.js';

export const EXTRACTORS: readonly Extractor[] = [directExtractor, htmlExtractor, oembedExtractor];

export type { Extractor, Extraction, ExtractContext, MediaCandidate, ProbeResult, UrlMetadata, Verdict } from './types.js';
