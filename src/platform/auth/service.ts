// Accounts and API keys: the only writer of the accounts and api_keys tables.
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { accounts, apiKeys, type Account } from './tables.js';
import { readCredentials, type Credentials, type HeaderBag } from './credentials.js';
import { generateKey, hashSecret, secretMatches } from './keys.js';

export type AuthProblem = 'MISSING' | 'MALFORMED' | 'UNKNOWN' | 'REVOKED';
export type AuthResult = { ok: true; account: Account; keyId: string } | { ok: false; problem: AuthProblem; message: string };

// Compared against when the key id is unknown, so that answer costs the same hash work.
const DECOY_HASH = hashSecret('decoy-secret-for-unknown-keys');
const LAST_USED_RESOLUTION_MS = 60_000;

export class AccountService {
  constructor(private readonly db: Db) {}

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

  async createKey(accountId: string, label?: string): Promise<{ id: string; key: string }> {
    const { id, secret, key } = generateKey();
    await this.db.insert(apiKeys).values({ id, accountId, label: label ?? null, secretHash: hashSecret(secret) });
    return { id, key };
  }

  async listKeys(accountId: string) {
    return this.db
      .select({ id: apiKeys.id, label: apiKeys.label, createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.accountId, accountId))
      .orderBy(apiKeys.createdAt);
  }

  /** Returns false when no such key exists; revoking twice keeps the first time. */
  async revokeKey(keyId: string): Promise<boolean> {
    const [row] = await this.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, keyId));
    if (!row) return false;
    await this.db.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
    return true;
  }

  /** Any of the three header forms (X-API-KEY, Bearer, Basic). */
  authenticateHeaders(headers: HeaderBag): Promise<AuthResult> {
    return this.authenticate(readCredentials(headers));
  }

  async authenticate(credentials: Credentials): Promise<AuthResult> {
    if (!credentials.ok) return credentials;
    const [row] = await this.db
      .select({ key: apiKeys, account: accounts })
      .from(apiKeys)
      .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
      .where(eq(apiKeys.id, credentials.key.id));
    const matches = secretMatches(credentials.key.secret, row?.key.secretHash ?? DECOY_HASH);
    if (!row || !matches) return { ok: false, problem: 'UNKNOWN', message: 'API key not recognised' };
    if (row.key.revokedAt) return { ok: false, problem: 'REVOKED', message: 'API key has been revoked' };
    const now = Date.now();
    if (!row.key.lastUsedAt || now - row.key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Coarse on purpose: one write a minute per key, not one per request.
      const cutoff = new Date(now - LAST_USED_RESOLUTION_MS);
      void this.db
        .update(apiKeys)
        .set({ lastUsedAt: new Date(now) })
        .where(and(eq(apiKeys.id, row.key.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, cutoff))))
        .catch(() => {});
    }
    return { ok: true, account: row.account, keyId: row.key.id };
  }
}
