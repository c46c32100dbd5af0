// Accounts and API keys: the only writer of the accounts and api_keys tables.
//
// Authentication is on every request's path, so it is one prepared postgres.js
// statement (no query builder) behind a short-lived cache of key lookups. The
// cache is only used while this process hears revocations (watchRevocations):
// a revocation is announced with pg_notify on KEYS_CHANNEL in the revoking
// transaction, every gateway drops the key from its cache and ends the sockets
// and streams it opened, and when the LISTEN connection comes back after a drop
// the whole cache goes and live sessions are re-checked. The TTL bounds only the
// time a dead LISTEN connection goes unnoticed.
import { eq } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Db } from '../db/client.js';
import { UnauthenticatedError } from '../errors.js';
import type { PgListener } from '../events/listener.js';
import { notify } from '../events/publish.js';
import { KeyCache, type CachedKey } from './key-cache.js';
import { readCredentials, type Credentials, type HeaderBag } from './credentials.js';
import { generateKey, hashSecret, secretMatches } from './keys.js';
import { KeySessions } from './sessions.js';
import { accounts, apiKeys, type Account } from './tables.js';

export type AuthProblem = 'MISSING' | 'MALFORMED' | 'UNKNOWN' | 'REVOKED';
export type AuthResult = { ok: true; account: Account; keyId: string } | { ok: false; problem: AuthProblem; message: string };

/** Revocations travel here: the payload is the revoked key's id. */
export const KEYS_CHANNEL = 'mg_keys';
export const REVOKED_MESSAGE = 'API key has been revoked';

// Compared against when the key id is unknown, so that answer costs the same hash work.
const DECOY_HASH = hashSecret('decoy-secret-for-unknown-keys');
const LAST_USED_RESOLUTION_MS = 60_000;

// Times as epoch milliseconds (float8): drizzle turns postgres.js's own date
// parsing off on the shared client, so timestamps would arrive as text.
interface KeyRow {
  secret_hash: string;
  revoked_ms: number | null;
  last_used_ms: number | null;
  account_id: string;
  account_name: string;
  account_created_ms: number;
}

const epochMs = (ms: number | null) => (ms === null ? null : new Date(ms));

export class AccountService {
  /** Sockets and streams open on this gateway, by key: what a revocation ends. */
  readonly sessions = new KeySessions();
  private readonly db: Db;
  private readonly sql: postgres.Sql;
  private readonly cache: KeyCache;
  private listener: Pick<PgListener, 'connected'> | undefined;

  constructor(database: { db: Db; sql: postgres.Sql }, options: { cacheTtlSeconds?: number } = {}) {
    this.db = database.db;
    this.sql = database.sql;
    this.cache = new KeyCache((options.cacheTtlSeconds ?? 0) * 1000);
  }

  async ensureAccount(name: string): Promise<{ account: Account; created: boolean }> {
    const [inserted] = await this.db.insert(accounts).values({ name }).onConflictDoNothing().returning();
    if (inserted) return { account: inserted, created: true };
    const [existing] = await this.db.select().from(accounts).where(eq(accounts.name, name));
    return { account: existing!, created: false };
  }

  async findAccount(name: string): Promise<Account | undefined> {
    const [row] = await this.db.select().from(accounts).where(eq(accounts.name, name));
    return row;
  }

  /**
   * `createdBy`: the key making the request, which must still be valid when the
   * new key commits (locked, so a concurrent revocation waits for this insert or
   * refuses it) — a revoked key can never mint its own replacement.
   */
  async createKey(accountId: string, label?: string, createdBy?: string): Promise<{ id: string; key: string }> {
    const { id, secret, key } = generateKey();
    await this.db.transaction(async (tx) => {
      if (createdBy) {
        // FOR SHARE reads the newest committed version of the row, not the snapshot's.
        const [creator] = await tx.select({ revokedAt: apiKeys.revokedAt }).from(apiKeys).where(eq(apiKeys.id, createdBy)).for('share');
        if (!creator || creator.revokedAt) throw new UnauthenticatedError(REVOKED_MESSAGE);
      }
      await tx.insert(apiKeys).values({ id, accountId, label: label ?? null, secretHash: hashSecret(secret) });
    });
    return { id, key };
  }

  async listKeys(accountId: string) {
    return this.db
      .select({ id: apiKeys.id, label: apiKeys.label, createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.accountId, accountId))
      .orderBy(apiKeys.createdAt);
  }

  /**
   * Returns false when no such key exists; revoking twice keeps the first time.
   * Announces the revocation to every gateway in the same transaction.
   */
  async revokeKey(keyId: string): Promise<boolean> {
    const found = await this.sql.begin(async (tx) => {
      const rows = await tx`update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ${keyId} returning id`;
      if (!rows.length) return false;
      await notify(tx, KEYS_CHANNEL, keyId);
      return true;
    });
    // This gateway stops accepting the key at once; its sockets and streams end
    // when the notification comes back, like everyone else's (so the answer to
    // a revokeApiKey sent over the key's own socket still gets out).
    if (found) this.cache.drop(keyId);
    return found;
  }

  /** Any of the three header forms (X-API-KEY, Bearer, Basic). */
  authenticateHeaders(headers: HeaderBag): Promise<AuthResult> {
    return this.authenticate(readCredentials(headers));
  }

  async authenticate(credentials: Credentials): Promise<AuthResult> {
    if (!credentials.ok) return credentials;
    const id = credentials.key.id;
    const caching = !!this.listener?.connected;
    let key = caching ? this.cache.get(id) : undefined;
    if (!key) {
      const fill = this.cache.startFill();
      key = await this.lookup(id);
      if (key && caching) this.cache.set(id, key, fill);
    }
    const matches = secretMatches(credentials.key.secret, key?.secretHash ?? DECOY_HASH);
    if (!key || !matches) return { ok: false, problem: 'UNKNOWN', message: 'API key not recognised' };
    if (key.revokedAt) return { ok: false, problem: 'REVOKED', message: REVOKED_MESSAGE };
    this.touch(id, key);
    return { ok: true, account: key.account, keyId: id };
  }

  /**
   * Hears revocations from every process: drops the key from the cache and ends
   * its sessions. Enables the cache; call once per gateway process.
   */
  async watchRevocations(listener: Pick<PgListener, 'subscribe' | 'onListening' | 'connected'>, onError: (err: unknown) => void): Promise<() => Promise<void>> {
    const unlisten = await listener.subscribe(KEYS_CHANNEL, (keyId) => this.revoked(keyId));
    // After a reconnect a revocation may have been missed while the connection was down.
    const offListening = listener.onListening(() => void this.resync().catch(onError));
    this.listener = listener;
    return async () => {
      this.listener = undefined;
      offListening();
      this.cache.clear();
      await unlisten();
    };
  }

  private revoked(keyId: string): void {
    this.cache.drop(keyId);
    this.sessions.endAll(keyId, REVOKED_MESSAGE);
  }

  private async resync(): Promise<void> {
    this.cache.clear();
    const live = this.sessions.keyIds();
    if (!live.length) return;
    const rows = await this.sql<{ id: string }[]>`select id from api_keys where id = any(${live}) and revoked_at is not null`;
    for (const row of rows) this.revoked(row.id);
  }

  private async lookup(id: string): Promise<CachedKey | undefined> {
    const [row] = await this.sql<KeyRow[]>`
      select k.secret_hash,
        (extract(epoch from k.revoked_at) * 1000)::float8 as revoked_ms,
        (extract(epoch from k.last_used_at) * 1000)::float8 as last_used_ms,
        a.id as account_id, a.name as account_name,
        (extract(epoch from a.created_at) * 1000)::float8 as account_created_ms
      from api_keys k join accounts a on a.id = k.account_id
      where k.id = ${id}`;
    if (!row) return undefined;
    return {
      secretHash: row.secret_hash,
      revokedAt: epochMs(row.revoked_ms),
      lastUsedAt: epochMs(row.last_used_ms),
      account: { id: row.account_id, name: row.account_name, createdAt: new Date(row.account_created_ms) },
    };
  }

  // Coarse on purpose: one write a minute per key and gateway, not one per request.
  private touch(id: string, key: CachedKey): void {
    const now = Date.now();
    if (key.lastUsedAt && now - key.lastUsedAt.getTime() <= LAST_USED_RESOLUTION_MS) return;
    key.lastUsedAt = new Date(now);
    void this.sql`update api_keys set last_used_at = now() where id = ${id} and (last_used_at is null or last_used_at < now() - ${`${LAST_USED_RESOLUTION_MS} milliseconds`}::interval)`.catch(() => {});
  }
}
