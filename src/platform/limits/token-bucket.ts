// Keyed token buckets, in memory: each key holds up to `burst` tokens and
// regains `perSecond` tokens a second. Refill is computed lazily on access, so
// there are no timers per key; a sweep forgets buckets that are full again (a
// full bucket is the same as no bucket), and a cap on the number of keys keeps
// a flood of distinct keys (client addresses) from growing memory without bound
// (the least recently used bucket goes first).
export interface BucketRate {
  /** Tokens regained per second; 0 turns the limit off. */
  perSecond: number;
  /** Largest number of tokens a bucket holds: the burst a quiet client may spend at once. */
  burst: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

const OK: TakeResult = { ok: true };
const SWEEP_EVERY_MS = 60_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(
    readonly rate: BucketRate,
    private readonly options: { maxKeys?: number; now?: () => number } = {},
  ) {
    this.lastSweep = this.now();
  }

  get enabled(): boolean {
    return this.rate.perSecond > 0;
  }

  /** Spends `cost` tokens of `key`'s bucket, or says how long until it could. */
  take(key: string, cost = 1): TakeResult {
    if (!this.enabled) return OK;
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    const { perSecond, burst } = this.rate;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= (this.options.maxKeys ?? 100_000)) this.evictOldest();
      bucket = { tokens: burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
      // Re-inserting keeps the map in least-recently-used order for evictOldest.
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return OK;
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - bucket.tokens) / perSecond)) };
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    const { perSecond, burst } = this.rate;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * perSecond >= burst) this.buckets.delete(key);
    }
  }

  // Map iteration is insertion order: the first key is the one used longest ago.
  private evictOldest(): void {
    const first = this.buckets.keys().next();
    if (!first.done) this.buckets.delete(first.value);
  }

  private now(): number {
    return this.options.now ? this.options.now() : performance.now();
  }
}
