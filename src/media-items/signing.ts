// Signed download links for /media/:id, so a link can be handed to someone
// without an API key. The signature covers the item id and the expiry.
import { timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from '../platform/hmac.js';


function mac(secret: string, id: string, expires: number): Buffer {
  return hmacSha256(secret, `media-item-download-v1\n${id}\n${expires}`);
}

export function signDownload(publicUrl: string, secret: string, id: string, expiresInSeconds: number, now = Date.now()): { url: string; expiresAt: Date } {
  const expires = Math.floor(now / 1000) + expiresInSeconds;
  const sig = mac(secret, id, expires).toString('hex');
  return { url: `${publicUrl.endsWith('/') ? publicUrl.slice(0, -1) : publicUrl}/media/${id}?expires=${expires}&sig=${sig}`, expiresAt: new Date(expires * 1000) };
}

/** true only for an unexpired link signed for this id. */
export function verifyDownload(secret: string, id: string, query: URLSearchParams, now = Date.now()): boolean {
  const expires = Number(query.get('expires'));
  const sig = query.get('sig') ?? '';
  if (!Number.isSafeInteger(expires) || !/^[0-9a-f]{64}$/.test(sig)) return false;
  if (now >= expires * 1000) return false;
  return timingSafeEqual(mac(secret, id, expires), Buffer.from(sig, 'hex'));
}
