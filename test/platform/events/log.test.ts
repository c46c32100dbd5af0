// The durable event log: every change numbered per account with no gaps, in
// commit order; subscribers resume from the last number they saw; a gateway
// whose LISTEN connection drops reads on from the log, so nothing is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../../../src/platform/events/publish.js';
import { gql, startTestGateway, type TestGateway } from '../../support/gateway.js';
import { subscribeAny, subscribeSse, subscribeWs, type Subscriber } from '../../support/subscribers.js';

let gw: TestGateway;
let alice: { key: string; accountId: string };

beforeAll(async () => {
  // Serve only: fetch jobs stay PENDING, so the test decides every state change.
  gw = await startTestGateway({ mode: 'serve', env: { FETCH_ALLOW_NETWORKS: '127.0.0.0/8' } });
  alice = await gw.keyFor('log-alice');
});
afterAll(() => gw?.close());

const h = (key: string) => ({ 'x-api-key': key });
const ping = (key: string, message: string) => gql(gw, h(key), 'mutation($m: String) { pingEvents(message: $m) }', { m: message });
const pings = (s: Subscriber) => s.events.filter((e) => e.topic === 'ping');

/** Kills this gateway's LISTEN connection (as a network blip or a database failover would). */
async function dropListen(): Promise<void> {
  const killed = await gw.runtime.database.sql<{ ok: boolean }[]>`
    select pg_terminate_backend(pid) as ok from pg_stat_activity
    where application_name = ${`media-gateway-listener-${process.pid}`} and datname = current_database()`;
  expect(killed.length).toBe(1);
}

async function heard(subscriber: Subscriber, key: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await ping(key, `hello-${i}`);
    if (await subscriber.waitFor((e) => e.data.message === `hello-${i}`, 200).then(() => true, () => false)) return;
  }
  throw new Error('subscriber never connected');
}

describe('event log', () => {
  it('numbers an account\'s events 1, 2, 3… in commit order, even when written concurrently; a rollback takes its number back', async () => {
    const bob = await gw.keyFor('log-bob');
    const ws = subscribeWs(gw.url, bob.key);
    await heard(ws, bob.key);
    const start = Number(pings(ws).at(-1)!.seq);
    await Promise.all(Array.from({ length: 30 }, (_, i) => ping(bob.key, `c-${i}`)));
    // A transaction that announces and then fails announces nothing and leaves no hole.
    await gw.runtime.services.database.db
      .transaction(async (tx) => {
        await publishEvent(tx, { accountId: bob.accountId, topic: 'ping', type: 'ping', id: 'rolled-back', data: {} });
        throw new Error('roll back');
      })
      .catch(() => {});
    await ping(bob.key, 'last');
    await ws.waitFor((e) => e.data.message === 'last');
    const seqs = pings(ws).filter((e) => Number(e.seq) > start).map((e) => Number(e.seq));
    expect(seqs).toEqual(Array.from({ length: 31 }, (_, i) => start + 1 + i));
    expect(pings(ws).some((e) => e.id === 'rolled-back')).toBe(false);
    await ws.close();
  });

  it('replays what a graphql-ws subscriber missed when it resumes with `after`', async () => {
    const first = subscribeWs(gw.url, alice.key);
    await heard(first, alice.key);
    const lastSeen = pings(first).at(-1)!.seq!;
    await first.close();
    for (const m of ['missed-1', 'missed-2', 'missed-3']) await ping(alice.key, m);
    const resumed = subscribeWs(gw.url, alice.key, `subscription { accountEvents(after: "${lastSeen}") { seq topic type id at data } }`);
    await resumed.waitFor((e) => e.data.message === 'missed-3');
    await ping(alice.key, 'live-after-resume');
    await resumed.waitFor((e) => e.data.message === 'live-after-resume');
    const messages = pings(resumed).map((e) => e.data.message);
    expect(messages.slice(0, 4)).toEqual(['missed-1', 'missed-2', 'missed-3', 'live-after-resume']);
    const seqs = pings(resumed).map((e) => Number(e.seq));
    expect(seqs).toEqual(seqs.map((_, i) => Number(lastSeen) + 1 + i));
    await resumed.close();
  });

  it('numbers SSE events with `id:` and resumes from Last-Event-ID after a reconnect', async () => {
    const sse = async (lastEventId?: string) => {
      const controller = new AbortController();
      const res = await fetch(`${gw.graphqlUrl}?query=${encodeURIComponent('subscription { accountEvents(topics: ["ping"]) { seq data } }')}`, {
        headers: { ...h(alice.key), accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        signal: controller.signal,
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = res.body!.getReader();
      let text = '';
      return {
        async readUntil(needle: string) {
          while (!text.includes(needle)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`stream ended before ${needle}: ${text}`);
            text += new TextDecoder().decode(value);
          }
          return text;
        },
        close: () => controller.abort(),
      };
    };
    const first = await sse();
    await new Promise((r) => setTimeout(r, 300));
    await ping(alice.key, 'sse-1');
    const seen = await first.readUntil('sse-1');
    const id = /id: (\d+)\nevent: next\ndata: .*sse-1/.exec(seen)?.[1];
    expect(id).toBeDefined();
    first.close();
    await ping(alice.key, 'sse-2');
    await ping(alice.key, 'sse-3');
    const again = await sse(id);
    const replayed = await again.readUntil('sse-3');
    expect(replayed).not.toContain('sse-1');
    expect(replayed.indexOf('sse-2')).toBeLessThan(replayed.indexOf('sse-3'));
    expect(replayed).toContain(`id: ${Number(id) + 1}\n`);
    again.close();
  });

  it('refuses a malformed `after` with VALIDATION naming it', async () => {
    const sub = subscribeAny(gw.url, alice.key, 'subscription { accountEvents(after: "x1") { seq } }');
    await sub.done;
    expect(JSON.stringify(sub.errors)).toContain('VALIDATION');
    expect(JSON.stringify(sub.errors)).toContain('after');
    await sub.close();
  });

  it('says RESYNC to a subscriber resuming from before the retention window', async () => {
    const carol = await gw.keyFor('log-carol');
    for (const m of ['old-1', 'old-2']) await ping(carol.key, m);
    await gw.runtime.services.database.sql`update events set at = now() - interval '2 days' where account_id = ${carol.accountId}`;
    await gw.runtime.services.events.log.prune(new Date(Date.now() - 24 * 3600 * 1000));
    const resumed = subscribeWs(gw.url, carol.key, 'subscription { accountEvents(after: "0") { seq topic type id at data } }');
    const resync = await resumed.waitFor((e) => e.type === 'RESYNC');
    expect(resync.seq).toBe('2');
    await ping(carol.key, 'new');
    const fresh = await resumed.waitFor((e) => e.data.message === 'new');
    expect(fresh.seq).toBe('3');
    expect(resumed.events.filter((e) => String(e.data.message).startsWith('old'))).toEqual([]);
    await resumed.close();
  });

  it('loses nothing while the gateway\'s LISTEN connection is down, over graphql-ws and SSE', async () => {
    const dave = await gw.keyFor('log-dave');
    const ws = subscribeWs(gw.url, dave.key);
    const sse = subscribeSse(gw.url, dave.key);
    await heard(ws, dave.key);
    await heard(sse, dave.key);
    await dropListen();
    // Committed straight away, while the connection is being re-established; nothing is published after.
    for (let i = 0; i < 10; i++) await publishEvent(gw.runtime.services.database.db, { accountId: dave.accountId, topic: 'ping', type: 'ping', id: `d${i}`, data: { message: `during-${i}` } });
    for (const s of [ws, sse]) {
      await s.waitFor((e) => e.data.message === 'during-9', 10_000);
      expect(pings(s).filter((e) => String(e.data.message).startsWith('during')).map((e) => e.data.message)).toEqual(Array.from({ length: 10 }, (_, i) => `during-${i}`));
    }
    await Promise.all([ws.close(), sse.close()]);
  });

  it('a fetchJob(id) subscription whose last change lands while LISTEN is down still completes (20 times)', async () => {
    const erin = await gw.keyFor('log-erin');
    const hung: string[] = [];
    for (let round = 0; round < 20; round++) {
      const created = await gql(gw, h(erin.key), 'mutation { createFetchJob(input: { url: "http://127.0.0.1:9/never.wav" }) { id uuid status } }');
      const job = created.body.data.createFetchJob;
      const watch = subscribeAny(gw.url, erin.key, 'subscription($id: ID!) { fetchJob(id: $id) { status error { code } } }', { id: job.id });
      await expect.poll(() => watch.seen.length, { timeout: 5000 }).toBe(1);
      // The final change commits while the LISTEN connection is being re-established.
      await dropListen();
      await gw.runtime.services.fetchJobs.cancel(erin.accountId, job.uuid);
      const ended = await Promise.race([watch.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!ended || watch.seen.at(-1)?.status !== 'FAILED') hung.push(`round ${round}: ${JSON.stringify(watch.seen)}`);
      await watch.close();
    }
    expect(hung).toEqual([]);
  }, 120_000);
});
