// Revoking a key ends what it opened, on every gateway: graphql-ws sockets close
// with 4403 and SSE streams end, whether the key is revoked by the real
// `media-gateway keys revoke` CLI or by revokeApiKey on another gateway; an
// operation on a socket re-checks the key before it runs, so a revoked key can
// never mint a new one; and the key cache never lets a revoked key in once the
// revocation has been heard (or the LISTEN connection has come back).
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../../src/platform/events/publish.js';
import { spawnTs, nowMs, type TsChild } from '../support/child-process.js';
import { runCli } from '../support/cli.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { subscribeSse, type Subscriber } from '../support/subscribers.js';

let local: TestGateway;
let child: TsChild;
let remoteUrl: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  // This gateway caches no key lookups, so an operation's re-check reads the database.
  local = await startTestGateway({ mode: 'serve', env: { API_KEY_CACHE_TTL_SECONDS: '0' } });
  child = spawnTs('test/support/child-gateway.ts', { DATABASE_URL: local.databaseUrl });
  remoteUrl = (await child.waitFor((m) => m.event === 'ready', 30_000)).url;
});

afterAll(async () => {
  await Promise.all(cleanups.map((c) => c().catch(() => {})));
  await child?.kill('SIGTERM');
  await local?.close();
});

const commit = (accountId: string, id: string) =>
  local.runtime.services.database.db.transaction((tx) => publishEvent(tx, { accountId, topic: 'test', type: 'created', id }));

interface WsSession {
  client: Client;
  events: string[];
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** Runs one operation on this socket; resolves with its result or its error. */
  run(query: string): Promise<{ data?: any; errors?: any }>;
}

function openWs(baseUrl: string, key: string): WsSession {
  const events: string[] = [];
  let onClosed!: (c: { code: number; reason: string; at: number }) => void;
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { 'x-api-key': key },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: { closed: (e) => onClosed({ code: (e as CloseEvent).code, reason: (e as CloseEvent).reason, at: nowMs() }) },
  });
  client.subscribe<{ accountEvents: { id: string } }>(
    { query: 'subscription { accountEvents { id } }' },
    { next: (r) => r.data && events.push(r.data.accountEvents.id), error: () => {}, complete: () => {} },
  );
  cleanups.push(async () => client.dispose());
  return {
    client,
    events,
    closed,
    run: (query) =>
      new Promise((resolve) => {
        let result: { data?: any; errors?: any } = {};
        client.subscribe({ query }, { next: (r) => (result = r as never), error: (e) => resolve({ errors: Array.isArray(e) ? e : { code: (e as CloseEvent).code, reason: (e as CloseEvent).reason } }), complete: () => resolve(result) });
      }),
  };
}

/** Publishes until the subscriber demonstrably hears its account (subscribing is asynchronous on the server). */
async function heard(has: (marker: string) => boolean, accountId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const marker = `ready-${randomUUID()}`;
    await commit(accountId, marker);
    for (let j = 0; j < 10; j++) {
      if (has(marker)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error(`subscriber never heard account ${accountId}`);
}

function sse(baseUrl: string, key: string): Subscriber {
  const subscriber = subscribeSse(baseUrl, key, 'subscription { accountEvents { topic type id at data } }');
  cleanups.push(() => subscriber.close());
  return subscriber;
}

async function keyFor(name: string) {
  return local.keyFor(name);
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);

describe('revoking a key ends what it opened on another gateway', () => {
  it('`media-gateway keys revoke` closes its graphql-ws socket (4403) and SSE stream on a second gateway process', async () => {
    const { key, keyId, accountId } = await keyFor(`cli-${randomUUID().slice(0, 8)}`);
    const ws = openWs(remoteUrl, key);
    const stream = sse(remoteUrl, key);
    await heard((m) => ws.events.includes(m) && stream.events.some((e) => e.id === m), accountId);

    const revoked = await runCli(['keys', 'revoke', keyId], { DATABASE_URL: local.databaseUrl });
    expect(revoked.code, revoked.stderr).toBe(0);
    const [{ revokedMs }] = await local.runtime.services.database.sql<{ revokedMs: number }[]>`select (extract(epoch from revoked_at) * 1000)::float8 as "revokedMs" from api_keys where id = ${keyId}`;

    const close = await within(ws.closed, 5000, 'graphql-ws close');
    expect(close.code).toBe(4403);
    expect(close.reason).toMatch(/revoked/i);
    await within(stream.ended, 5000, 'SSE stream end');
    expect(JSON.stringify(stream.errors)).toMatch(/KEY_REVOKED/);
    // Within 5 s of the revocation (revoked_at is its transaction's start).
    expect(close.at - revokedMs).toBeLessThan(5000);

    // Nothing reaches either of them any more.
    await commit(accountId, 'after-revoke');
    await new Promise((r) => setTimeout(r, 300));
    expect(ws.events).not.toContain('after-revoke');
    expect(stream.events.map((e) => e.id)).not.toContain('after-revoke');
  });

  it('revokeApiKey on the first gateway closes the socket and the stream held on the second', async () => {
    const owner = await keyFor(`mutation-${randomUUID().slice(0, 8)}`);
    const victim = await local.runtime.services.accounts.createKey(owner.accountId, 'victim');
    const ws = openWs(remoteUrl, victim.key);
    const stream = sse(remoteUrl, victim.key);
    await heard((m) => ws.events.includes(m) && stream.events.some((e) => e.id === m), owner.accountId);

    const res = await gql(local, { 'x-api-key': owner.key }, 'mutation($id: String!) { revokeApiKey(id: $id) }', { id: victim.id });
    expect(res.body).toEqual({ data: { revokeApiKey: true } });
    const close = await within(ws.closed, 5000, 'graphql-ws close');
    expect(close.code).toBe(4403);
    expect(close.reason).toMatch(/revoked/i);
    await within(stream.ended, 5000, 'SSE stream end');

    // The owner's own key is untouched.
    expect((await gql({ graphqlUrl: `${remoteUrl}/graphql` }, { 'x-api-key': owner.key }, '{ viewer { id } }')).status).toBe(200);
  });

  it.each([
    ['the second gateway (key cached: the insert itself checks the creating key)', () => remoteUrl],
    ['the first gateway (no cache: the re-check refuses it and closes the socket)', () => local.url],
  ])('a revoked key cannot mint a new key over a socket it opened before, on %s', async (_where, url) => {
    const owner = await keyFor(`mint-${randomUUID().slice(0, 8)}`);
    const ws = openWs(url(), owner.key);
    await heard((m) => ws.events.includes(m), owner.accountId);
    // Revoked straight in the database, as if the notification were lost: the
    // socket stays open, but the operation must not run on a revoked key.
    await local.runtime.services.database.sql`update api_keys set revoked_at = now() where id = ${owner.keyId}`;
    const before = (await local.runtime.services.accounts.listKeys(owner.accountId)).length;
    const result = await ws.run('mutation { createApiKey(label: "undo the revocation") { id key } }');
    expect(result.data?.createApiKey ?? undefined).toBeUndefined();
    expect(JSON.stringify(result.errors)).toMatch(/revoked/i);
    expect((await local.runtime.services.accounts.listKeys(owner.accountId)).length).toBe(before);
    if (url() === local.url) expect((await within(ws.closed, 5000, 'graphql-ws close')).code).toBe(4403);
  });
});

describe('sessions', () => {
  it('a stream or socket that ends by itself is forgotten (nothing held for a revocation to find)', async () => {
    const { key, keyId, accountId } = await keyFor(`release-${randomUUID().slice(0, 8)}`);
    const { sessions } = local.runtime.services.accounts;
    const ws = openWs(local.url, key);
    const stream = sse(local.url, key);
    await heard((m) => ws.events.includes(m) && stream.events.some((e) => e.id === m), accountId);
    expect(sessions.count(keyId, 'socket')).toBe(1);
    expect(sessions.count(keyId, 'stream')).toBe(1);
    await stream.close();
    await ws.client.dispose();
    for (let i = 0; i < 200 && sessions.keyIds().includes(keyId); i++) await new Promise((r) => setTimeout(r, 10));
    expect(sessions.keyIds()).not.toContain(keyId);
  });
});

describe('the key cache', () => {
  it('never authenticates a revoked key once the revocation has been heard', async () => {
    const { key, keyId, accountId } = await keyFor(`cache-${randomUUID().slice(0, 8)}`);
    const remote = { graphqlUrl: `${remoteUrl}/graphql` };
    expect((await gql(remote, { 'x-api-key': key }, '{ viewer { id } }')).status).toBe(200); // now cached there
    const ws = openWs(remoteUrl, key);
    await heard((m) => ws.events.includes(m), accountId);
    await runCli(['keys', 'revoke', keyId], { DATABASE_URL: local.databaseUrl });
    await within(ws.closed, 5000, 'graphql-ws close'); // the remote gateway has heard it
    const after = await gql(remote, { 'x-api-key': key }, '{ viewer { id } }');
    expect(after.status).toBe(401);
    expect(after.body.error?.code).toBe('KEY_REVOKED');
  });

  it('is dropped wholesale when the LISTEN connection comes back (a revocation may have been missed)', async () => {
    const { key, keyId } = await keyFor(`resync-${randomUUID().slice(0, 8)}`);
    const remote = { graphqlUrl: `${remoteUrl}/graphql` };
    expect((await gql(remote, { 'x-api-key': key }, '{ viewer { id } }')).status).toBe(200);
    const ws = openWs(remoteUrl, key);
    await within(new Promise<void>((resolve) => ws.client.on('connected', () => resolve())), 5000, 'graphql-ws connect');

    const { sql } = local.runtime.services.database;
    // A revocation whose notification never arrives.
    await sql`update api_keys set revoked_at = now() where id = ${keyId}`;
    const appName = `media-gateway-listener-${child.proc.pid}`;
    const listenerPid = async () => (await sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${appName} and datname = current_database() and query ilike 'listen%'`)[0]?.pid;
    const before = await listenerPid();
    expect(before).toBeTypeOf('number');
    await sql`select pg_terminate_backend(${before!})`;

    // After the reconnect the cache is gone and live sockets are re-checked.
    const close = await within(ws.closed, 10_000, 'graphql-ws close after LISTEN reconnect');
    expect(close.code).toBe(4403);
    const after = await gql(remote, { 'x-api-key': key }, '{ viewer { id } }');
    expect(after.status).toBe(401);
  });
});
