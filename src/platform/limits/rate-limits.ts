// The gateway's rate limits: one set of token buckets per gateway process.
// Counting in memory keeps the hot path free of database round trips; the price
// is that N gateways behind a load balancer allow up to N times each rate to a
// client whose requests are spread over all of them (README says so).
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';
import { RateLimitedError } from '../errors.js';
import { TokenBuckets, type TakeResult } from './token-bucket.js';

export class RateLimits {
  /** HTTP requests, per API key. */
  readonly http: TokenBuckets;
  /** HTTP requests without a valid key, per client address. */
  readonly anonymous: TokenBuckets;
  /** GraphQL operations over graphql-ws, per API key. */
  readonly socketOps: TokenBuckets;
  /** Operations that make the gateway fetch a URL (fields tagged `fetchesUrls`), per API key. */
  readonly fetch: TokenBuckets;
  readonly maxSocketsPerKey: number;

  constructor(config: Config['rateLimits'], now?: () => number) {
    this.http = new TokenBuckets(config.http, { now });
    this.anonymous = new TokenBuckets(config.anonymous, { now });
    this.socketOps = new TokenBuckets(config.socketOps, { now });
    this.fetch = new TokenBuckets(config.fetch, { now });
    this.maxSocketsPerKey = config.maxSocketsPerKey;
  }
}

/** Throws RATE_LIMITED (429, Retry-After) when `result` refused. */
export function enforce(result: TakeResult, what: string): void {
  if (!result.ok) throw new RateLimitedError(`Too many ${what}; retry in ${result.retryAfterSeconds} s`, result.retryAfterSeconds);
}

/**
 * The bucket key of a client address: IPv4 as is (IPv4-mapped IPv6 unwrapped),
 * IPv6 by its /64, since one host commonly holds a whole /64.
 */
export function addressBucket(remoteAddress: string | undefined): string {
  if (!remoteAddress || !ipaddr.isValid(remoteAddress)) return remoteAddress ?? 'unknown';
  const parsed = ipaddr.process(remoteAddress);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
