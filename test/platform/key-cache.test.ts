// AccountService's key cache against a real database and a real LISTEN
// connection: lookups are served from memory while revocations are heard, a
// revocation from another process drops the key at once, and nothing is cached
// while the LISTEN connection is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyCache } from '../../src/platform/auth/key-cache.js';
import { AccountService } from '../../src/platform/auth/service.js';
import { readCredentials } from '../../src/platform/auth/credentials.js';
import { connectDatabase, type Database } from '../../src/platform/db/client.js';
import { PgListener } from '../../src/platform/events/listener.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase } from '../support/db.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let counted: Database;
let other: Database;
let listener: PgListener;
let statements: string[] = [];
let cached: AccountService;
let elsewhere: AccountService;
let unwatch: () => Promise<void>;

beforeAll(async () => {
  database = await createTestDatabase();
  counted = connectDatabase(database.url, { onQuery: (sql) => statements.push(sql) });
  other = connectDatabase(database.url);
  listener = new PgListener(database.url, createLogger({ logLevel: 'silent' }), `key-cache-test-${process.pid}`);
  cached = new AccountService(counted, { cacheTtlSeconds: 60 });
  elsewhere = new AccountService(other); // another process: the CLI, another gateway
  unwatch = await cached.watchRevocations(listener, () => {});
});
afterAll(async () => {
  await unwatch?.();
  await listener?.close();
  await counted?.close();
  await other?.close();
  await database?.drop();
});

const credentialsOf = (key: string) => readCredentials({ get: (name) => (name === 'x-api-key' ? key : undefined) });

async function newKey(name: string) {
  const { account } = await elsewhere.ensureAccount(name);
  return elsewhere.createKey(account.id, 'test');
}

describe('the API key cache', () => {
  it('authenticates a key 200 times with one lookup and one lastUsedAt write', async () => {
    const { key } = await newKey('hot');
    statements = [];
    for (let i = 0; i < 200; i++) expect((await cached.authenticate(credentialsOf(key))).ok).toBe(true);
    expect(statements.filter((s) => /^\s*select[\s\S]*from api_keys/i.test(s))).toHaveLength(1);
    expect(statements.filter((s) => /^\s*update api_keys set last_used_at/i.test(s))).toHaveLength(1);
  });

  it('records lastUsedAt, and reads keys back with their times (once used, once revoked)', async () => {
    const { key, id } = await newKey('times');
    const { account } = await elsewhere.ensureAccount('times');
    const fresh = new AccountService(counted); // no cache: every call reads the row
    const first = await fresh.authenticate(credentialsOf(key));
    expect(first).toMatchObject({ ok: true, account: { id: account.id, name: 'times' } });
    if (first.ok) expect(first.account.createdAt.getTime()).toBe(account.createdAt.getTime());
    let lastUsedAt: Date | null = null;
    for (let i = 0; i < 100 && !lastUsedAt; i++) {
      lastUsedAt = (await elsewhere.listKeys(account.id)).find((k) => k.id === id)!.lastUsedAt;
      if (!lastUsedAt) await new Promise((r) => setTimeout(r, 10));
    }
    expect(lastUsedAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await fresh.authenticate(credentialsOf(key))).ok).toBe(true); // with last_used_at set
    await elsewhere.revokeKey(id);
    expect(await fresh.authenticate(credentialsOf(key))).toMatchObject({ ok: false, problem: 'REVOKED' });
  });

  it('still checks the secret of a cached key', async () => {
    const { key, id } = await newKey('secret');
    expect((await cached.authenticate(credentialsOf(key))).ok).toBe(true);
    const wrong = await cached.authenticate(credentialsOf(`${id}.${'Z'.repeat(43)}`));
    expect(wrong).toMatchObject({ ok: false, problem: 'UNKNOWN' });
  });

  it('drops a key revoked by another process as soon as the notification is heard', async () => {
    const { key, id } = await newKey('revoked');
    expect((await cached.authenticate(credentialsOf(key))).ok).toBe(true);
    let heard = false;
    const ended = new Promise<void>((resolve) => cached.sessions.hold(id, 'stream', () => ((heard = true), resolve())));
    expect(await elsewhere.revokeKey(id)).toBe(true);
    await ended;
    expect(heard).toBe(true);
    expect(await cached.authenticate(credentialsOf(key))).toMatchObject({ ok: false, problem: 'REVOKED' });
  });

  it('caches nothing while the LISTEN connection is down, and forgets everything when it is back', async () => {
    const { key, id } = await newKey('outage');
    expect((await cached.authenticate(credentialsOf(key))).ok).toBe(true);
    const appName = `key-cache-test-${process.pid}`;
    const [backend] = await other.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${appName} and datname = current_database()`;
    // Revoked without a notification reaching this process: the LISTEN connection is being killed.
    await other.sql`select pg_terminate_backend(${backend!.pid})`;
    for (let i = 0; i < 100 && listener.connected; i++) await new Promise((r) => setTimeout(r, 5));
    await other.sql`update api_keys set revoked_at = now() where id = ${id}`;
    // Whether or not it is back by now, the key is read from the database again.
    expect(await cached.authenticate(credentialsOf(key))).toMatchObject({ ok: false, problem: 'REVOKED' });
  });

  it('does not let a lookup that raced a revocation refill the cache', () => {
    const cache = new KeyCache(60_000);
    const row = { secretHash: 'h', account: { id: 'a', name: 'n', createdAt: new Date() }, revokedAt: null, lastUsedAt: null };
    const fill = cache.startFill(); // the lookup reads the row before the revocation commits…
    cache.drop('k'); // …the notification arrives while it is in flight…
    cache.set('k', row, fill); // …and its stale answer is not kept
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', row, cache.startFill());
    expect(cache.get('k')).toBe(row);
  });
});
