// Standard Webhooks signing (https://www.standardwebhooks.com): the signed
// content is `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 keyed
// with the base64-decoded part of a `whsec_` secret, sent as `v1,<base64>`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A new secret: `whsec_` + base64 of 24 random bytes (192 bits). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

function keyOf(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new WebhookVerificationError('empty secret');
  return key;
}

/** The bare base64 signature (without the `v1,` prefix). */
export function sign(secret: string, webhookId: string, timestamp: number, body: string): string {
  return createHmac('sha256', keyOf(secret)).update(`${webhookId}.${timestamp}.${body}`).digest('base64');
}

/**
 * The headers of one attempt; `timestamp` is that attempt's UNIX seconds.
 * Several secrets (during a rotation's grace period) give several signatures.
 */
export function signedHeaders(secret: string | readonly string[], webhookId: string, timestamp: number, body: string): Record<string, string> {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => `v1,${sign(s, webhookId, timestamp, body)}`).join(' '),
  };
}

export class WebhookVerificationError extends Error {
  constructor(reason: string) {
    super(`Webhook verification failed: ${reason}`);
    this.name = 'WebhookVerificationError';
  }
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const hit = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(hit) ? hit[0] : hit;
}

/**
 * Checks a received webhook: signature over the raw body (verify before any
 * JSON re-serialisation), and a timestamp within `toleranceSeconds` of now to
 * refuse replays. Returns the parsed body; throws WebhookVerificationError.
 */
export function verifyWebhook(
  secret: string,
  headers: HeaderBag,
  body: string | Buffer,
  options: { toleranceSeconds?: number; now?: Date } = {},
): unknown {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || !Number.isSafeInteger(seconds)) throw new WebhookVerificationError('malformed webhook-timestamp');
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - seconds) > (options.toleranceSeconds ?? 300)) throw new WebhookVerificationError('timestamp outside the tolerance');
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const expected = Buffer.from(sign(secret, id, seconds, text), 'base64');
  // Several space-separated signatures may be sent (e.g. during a key change); one must match.
  const matched = signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matched) throw new WebhookVerificationError('no matching signature');
  return JSON.parse(text);
}
