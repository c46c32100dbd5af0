// The URL itself is the media: decided by the sniffed first bytes, because
// servers label media as application/octet-stream (or worse) all the time.
import { isHtml } from './html.js';
import type { Extractor } from './types.js';

export const directExtractor: Extractor = {
  name: 'direct',
  // Anything that is not a web page is "the file": whether its type is
  // acceptable is the verdict's business, not the extractor's.
  match: (_url, head) => head.status < 400 && !!head.mimeType && !isHtml(head),
  async extract(url, head) {
    return {
      candidates: [{ url: head.url || url, mimeType: head.mimeType, size: head.size, width: head.width, height: head.height }],
      info: { width: head.width, height: head.height },
    };
  },
};
