// Events committed in this process reach subscribers of another gateway process,
// over graphql-ws and SSE, only for their own account, and only on commit.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent, type EventInput } from '../../../src/platform/events/publish.js';
import { spawnTs, type TsChild } from '../../support/child-process.js';
import { gql, startTestGateway, type TestGateway } from '../../support/gateway.js';
import { subscribeSse, subscribeWs, type Subscriber } from '../../support/subscribers.js';

let local: TestGateway;
let child: TsChild;
let remoteUrl: string;
let alice: { key: string; accountId: string };
let bob: { key: string; accountId: string };
const subscribers: Subscriber[] = [];

beforeAll(async () => {
  local = await startTestGateway({ mode: 'serve' });
  child = spawnTs('test/support/child-gateway.ts', { DATABASE_URL: local.databaseUrl });
  remoteUrl = (await child.waitFor((m) => m.event === 'ready', 30_000)).url;
  alice = await local.keyFor('alice');
  bob = await local.keyFor('bob');
});

afterAll(async () => {
  await Promise.all(subscribers.map((s) => s.close().catch(() => {})));
  await child?.kill('SIGTERM');
  await local?.close();
});

const commit = (event: EventInput) => local.runtime.services.database.db.transaction((tx) => publishEvent(tx, event));

/** Subscribing is asynchronous on the server; publish until the subscriber demonstrably hears its account. */
async function connected(subscriber: Subscriber, accountId: string): Promise<void> {
  const marker = `ready-${randomUUID()}`;
  for (let i = 0; i < 100; i++) {
    await commit({ accountId, topic: 'ready', type: 'ready', id: marker });
    const heard = await subscriber.waitFor((e) => e.id === marker, 100).then(() => true, () => false);
    if (heard) return;
  }
  throw new Error(`subscriber never heard account ${accountId}: errors ${JSON.stringify(subscriber.errors)} events ${JSON.stringify(subscriber.events)}`);
}

const ids = (s: Subscriber, topic = 'test') => s.events.filter((e) => e.topic === topic).map((e) => e.id);

describe('events across gateway processes', () => {
  let aliceWs: Subscriber;
  let aliceSse: Subscriber;
  let bobWs: Subscriber;

  beforeAll(async () => {
    aliceWs = subscribeWs(remoteUrl, alice.key);
    aliceSse = subscribeSse(remoteUrl, alice.key);
    bobWs = subscribeWs(remoteUrl, bob.key);
    subscribers.push(aliceWs, aliceSse, bobWs);
    await Promise.all([connected(aliceWs, alice.accountId), connected(aliceSse, alice.accountId), connected(bobWs, bob.accountId)]);
  });

  it("delivers a committed event to the account's graphql-ws and SSE subscribers, and to no other account", async () => {
    const before = Date.now();
    await commit({ accountId: alice.accountId, topic: 'test', type: 'created', id: 'e1', data: { n: 1 } });
    const [viaWs, viaSse] = await Promise.all([aliceWs.waitFor((e) => e.id === 'e1'), aliceSse.waitFor((e) => e.id === 'e1')]);
    for (const event of [viaWs, viaSse]) {
      expect(event).toMatchObject({ topic: 'test', type: 'created', id: 'e1', data: { n: 1 } });
      expect(Date.parse(event.at)).toBeGreaterThanOrEqual(before - 1000);
    }
    // Notifications reach a listener in commit order, so once bob hears e2 the
    // gateway has already dispatched e1; likewise e3 for alice after e2.
    await commit({ accountId: bob.accountId, topic: 'test', type: 'created', id: 'e2' });
    await bobWs.waitFor((e) => e.id === 'e2');
    await commit({ accountId: alice.accountId, topic: 'test', type: 'created', id: 'e3' });
    await Promise.all([aliceWs.waitFor((e) => e.id === 'e3'), aliceSse.waitFor((e) => e.id === 'e3')]);
    expect(ids(bobWs)).toEqual(['e2']);
    expect(ids(aliceWs)).toEqual(['e1', 'e3']);
    expect(ids(aliceSse)).toEqual(['e1', 'e3']);
  });

  it('announces nothing from a rolled-back transaction', async () => {
    await expect(
      local.runtime.services.database.db.transaction(async (tx) => {
        await publishEvent(tx, { accountId: alice.accountId, topic: 'test', type: 'created', id: 'rolled-back' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await commit({ accountId: alice.accountId, topic: 'test', type: 'created', id: 'after-rollback' });
    await Promise.all([aliceWs.waitFor((e) => e.id === 'after-rollback'), aliceSse.waitFor((e) => e.id === 'after-rollback')]);
    expect(ids(aliceWs)).not.toContain('rolled-back');
    expect(ids(aliceSse)).not.toContain('rolled-back');
  });

  it('pingEvents goes through the same path to subscribers on every gateway', async () => {
    const res = await gql(local, { 'x-api-key': alice.key }, 'mutation { pingEvents(message: "hello") }');
    expect(res.body).toEqual({ data: { pingEvents: true } });
    const ping = await aliceWs.waitFor((e) => e.topic === 'ping');
    expect(ping).toMatchObject({ type: 'ping', data: { message: 'hello' } });
    await aliceSse.waitFor((e) => e.topic === 'ping');
    await commit({ accountId: bob.accountId, topic: 'test', type: 'created', id: 'bob-barrier' });
    await bobWs.waitFor((e) => e.id === 'bob-barrier');
    expect(bobWs.events.some((e) => e.topic === 'ping')).toBe(false);
  });

  it('keeps delivering after the LISTEN connection is killed', async () => {
    const { sql } = local.runtime.services.database;
    const appName = `media-gateway-listener-${child.proc.pid}`;
    const listenerPid = async () => {
      const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${appName} and datname = current_database() and query ilike 'listen%'`;
      return rows[0]?.pid;
    };
    const before = await listenerPid();
    expect(before).toBeTypeOf('number');
    const [{ terminated }] = await sql<{ terminated: boolean }[]>`select pg_terminate_backend(${before!}) as terminated`;
    expect(terminated).toBe(true);
    let after: number | undefined;
    for (let i = 0; i < 200 && (after === undefined || after === before); i++) {
      await new Promise((r) => setTimeout(r, 25));
      after = await listenerPid();
    }
    expect(after).toBeTypeOf('number');
    expect(after).not.toBe(before);
    await commit({ accountId: alice.accountId, topic: 'test', type: 'created', id: 'after-reconnect' });
    await Promise.all([aliceWs.waitFor((e) => e.id === 'after-reconnect'), aliceSse.waitFor((e) => e.id === 'after-reconnect')]);
  });

  it('reports the LISTEN connection in readiness', async () => {
    const res = await fetch(`${remoteUrl}/readyz`);
    expect(res.status).toBe(200);
  });
});

describe('event payloads', () => {
  it('refuses an oversized event with a clear error instead of failing NOTIFY', async () => {
    await expect(commit({ accountId: alice.accountId, topic: 'test', type: 'big', id: 'x', data: { blob: 'x'.repeat(8000) } })).rejects.toThrow(/events carry ids and small fields only/);
  });

  it('filters accountEvents by topic', async () => {
    const filtered = subscribeWs(local.url, alice.key, 'subscription { accountEvents(topics: ["wanted"]) { topic type id at data } }');
    subscribers.push(filtered);
    const marker = randomUUID();
    for (let i = 0; i < 100 && !filtered.events.length; i++) {
      await commit({ accountId: alice.accountId, topic: 'other', type: 'x', id: `skip-${i}` });
      await commit({ accountId: alice.accountId, topic: 'wanted', type: 'x', id: marker });
      await filtered.waitFor((e) => e.id === marker, 100).catch(() => {});
    }
    expect(filtered.events.length).toBeGreaterThan(0);
    expect(filtered.events.every((e) => e.topic === 'wanted')).toBe(true);
  });

  it('rejects a subscription without a key', async () => {
    const anonymous = subscribeSse(local.url, 'mg_bogus.key');
    subscribers.push(anonymous);
    for (let i = 0; i < 100 && !anonymous.errors.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(anonymous.errors.length).toBeGreaterThan(0);
    expect(anonymous.events).toEqual([]);
  });
});
