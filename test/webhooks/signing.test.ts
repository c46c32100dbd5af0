// Signing, verification and the backoff schedule, without a database.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/webhooks/backoff.js';
import { generateSecret, signedHeaders, verifyWebhook, WebhookVerificationError } from '../../src/webhooks/signing.js';

describe('webhook signing', () => {
  const secret = generateSecret();
  const body = JSON.stringify({ type: 'fetch_job.completed', timestamp: new Date().toISOString(), data: { id: 'x' } });

  it('makes whsec_ secrets of 24 random bytes', () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    expect(generateSecret()).not.toBe(secret);
  });

  it('signs id.timestamp.body with the decoded key, as Standard Webhooks does', () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(secret, 'msg_1', now, body);
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`msg_1.${now}.${body}`).digest('base64');
    expect(headers).toEqual({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': `v1,${expected}` });
    expect(verifyWebhook(secret, headers, body)).toMatchObject({ type: 'fetch_job.completed', data: { id: 'x' } });
    // Node's IncomingHttpHeaders and fetch's Headers both work; a second signature in the list is fine.
    expect(() => verifyWebhook(secret, new Headers({ ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` }), Buffer.from(body))).not.toThrow();
  });

  it('refuses a tampered body, another key, a stale timestamp and missing headers', () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(secret, 'msg_1', now, body);
    expect(() => verifyWebhook(secret, headers, body.replace('x', 'y'))).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(generateSecret(), headers, body)).toThrow(/no matching signature/);
    const old = signedHeaders(secret, 'msg_1', now - 600, body);
    expect(() => verifyWebhook(secret, old, body)).toThrow(/tolerance/);
    expect(() => verifyWebhook(secret, { 'webhook-id': 'msg_1' }, body)).toThrow(/missing/);
  });
});

describe('retry backoff', () => {
  const settings = { baseSeconds: 5, maxSeconds: 6 * 3600 };

  it('doubles from the base and caps at the maximum, seconds to hours', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, settings, mid))).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(12, settings, mid)).toBe(10_240_000); // ≈ 2.8 h
    expect(retryDelayMs(13, settings, mid)).toBe(20_480_000);
    expect(retryDelayMs(14, settings, mid)).toBe(6 * 3600 * 1000);
    expect(retryDelayMs(1000, settings, mid)).toBe(6 * 3600 * 1000);
  });

  it('jitters within 80–120% and never past the cap', () => {
    expect(retryDelayMs(1, settings, () => 0)).toBe(4000);
    expect(retryDelayMs(1, settings, () => 0.999999)).toBe(6000);
    expect(retryDelayMs(20, settings, () => 0.999999)).toBe(6 * 3600 * 1000);
    // Gaps keep growing despite jitter: the worst next delay beats the best current one.
    for (let n = 1; n < 12; n++) expect(retryDelayMs(n + 1, settings, () => 0)).toBeGreaterThan(retryDelayMs(n, settings, () => 0.999999));
  });
});
