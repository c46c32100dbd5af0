// A short-lived, in-process cache of API key lookups: key id → secret hash,
// account, revocation time. Revocations drop an entry the moment their
// notification arrives; a lookup that was in flight while an entry was dropped
// is not stored (it may have read the row before the revocation committed), so
// a dropped key is always read again from the database.
import type { Account } from './tables.js';

export interface CachedKey {
  secretHash: string;
  account: Account;
  revokedAt: Date | null;
  /** Last lastUsedAt written or read, so the once-a-minute touch needs no query. */
  lastUsedAt: Date | null;
}

interface Entry {
  key: CachedKey;
  expiresAt: number;
}

export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  // Bumped by every drop: a fill that started before a drop may hold the row as it was.
  private epoch = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(id: string): CachedKey | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt > performance.now()) return entry.key;
    this.entries.delete(id);
    return undefined;
  }

  /** Call before reading the database; pass the result to set(). */
  startFill(): number {
    return this.epoch;
  }

  set(id: string, key: CachedKey, fillStartedAt: number): void {
    if (this.ttlMs <= 0 || fillStartedAt !== this.epoch) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { key, expiresAt: performance.now() + this.ttlMs });
  }

  drop(id: string): void {
    this.epoch++;
    this.entries.delete(id);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }
}
