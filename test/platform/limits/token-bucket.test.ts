// The keyed token bucket on a clock the test moves.
import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../../src/platform/limits/token-bucket.js';
import { addressBucket } from '../../../src/platform/limits/rate-limits.js';

function clocked(perSecond: number, burst: number, maxKeys?: number) {
  let now = 0;
  const buckets = new TokenBuckets({ perSecond, burst }, { now: () => now, maxKeys });
  return { buckets, advance: (ms: number) => (now += ms) };
}

describe('TokenBuckets', () => {
  it('allows a burst, then one token per 1/rate seconds, and says how long to wait', () => {
    const { buckets, advance } = clocked(2, 3);
    expect([1, 2, 3].map(() => buckets.take('k').ok)).toEqual([true, true, true]);
    expect(buckets.take('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
    advance(499);
    expect(buckets.take('k').ok).toBe(false);
    advance(1);
    expect(buckets.take('k').ok).toBe(true);
    expect(buckets.take('k').ok).toBe(false);
  });

  it('never holds more than the burst however long a key was quiet', () => {
    const { buckets, advance } = clocked(10, 2);
    buckets.take('k');
    advance(3_600_000);
    expect([1, 2, 3].map(() => buckets.take('k').ok)).toEqual([true, true, false]);
  });

  it('keeps keys apart', () => {
    const { buckets } = clocked(1, 1);
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(false);
    expect(buckets.take('b').ok).toBe(true);
  });

  it('charges a cost of several tokens at once and rounds Retry-After up to whole seconds', () => {
    const { buckets } = clocked(0.5, 4);
    expect(buckets.take('k', 3).ok).toBe(true);
    expect(buckets.take('k', 2)).toEqual({ ok: false, retryAfterSeconds: 2 });
  });

  it('is off at a rate of 0', () => {
    const { buckets } = clocked(0, 1);
    for (let i = 0; i < 1000; i++) expect(buckets.take('k').ok).toBe(true);
    expect(buckets.size).toBe(0);
  });

  it('forgets buckets that have filled up again, and holds at most maxKeys (least recently used out)', () => {
    const { buckets, advance } = clocked(1, 5, 3);
    for (const k of ['a', 'b', 'c']) buckets.take(k);
    buckets.take('a'); // b is now the least recently used
    buckets.take('d');
    expect(buckets.size).toBe(3);
    // b was evicted, so it starts full again; a kept its spent tokens
    expect([1, 2, 3, 4, 5].every(() => buckets.take('b').ok)).toBe(true);
    advance(61_000);
    buckets.take('e');
    expect(buckets.size).toBe(1);
  });
});

describe('addressBucket', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:bbbb::9', '2001:db8:1:2::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (input, bucket) => {
    expect(addressBucket(input)).toBe(bucket);
  });
});
