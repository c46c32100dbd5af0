// Per-key rate limits and socket caps on a real gateway with small limits:
// HTTP requests per key and per client address, GraphQL operations over
// graphql-ws, operations that fetch URLs, and graphql-ws sockets per key.
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    mode: 'serve',
    env: {
      // Slow refill, so a test never sees a token come back while it counts.
      RATE_LIMIT_HTTP_PER_SECOND: '0.05',
      RATE_LIMIT_HTTP_BURST: '5',
      RATE_LIMIT_ANONYMOUS_PER_SECOND: '0.05',
      RATE_LIMIT_ANONYMOUS_BURST: '4',
      RATE_LIMIT_SOCKET_OPS_PER_SECOND: '0.05',
      RATE_LIMIT_SOCKET_OPS_BURST: '3',
      RATE_LIMIT_FETCH_PER_SECOND: '0.05',
      RATE_LIMIT_FETCH_BURST: '2',
      MAX_SOCKETS_PER_KEY: '2',
    },
  });
});
afterAll(() => gateway?.close());

const newKey = () => gateway.keyFor(`rate-${randomUUID().slice(0, 8)}`);
const viewer = (key: string) => fetch(gateway.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query: '{ viewer { id } }' }) });

function socket(key: string) {
  let onClosed!: (c: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  let onConnected!: () => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const client = createClient({
    url: gateway.graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { 'x-api-key': key },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: { connected: () => onConnected(), closed: (e) => onClosed({ code: (e as CloseEvent).code, reason: (e as CloseEvent).reason }) },
  });
  const run = (query: string) =>
    new Promise<{ data?: any; errors?: any[] }>((resolve) => {
      let result = {};
      client.subscribe({ query }, { next: (r) => (result = r), error: (e) => resolve({ errors: Array.isArray(e) ? e : [e] }), complete: () => resolve(result) });
    });
  return { client, closed, connected, run };
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const { rateLimits, apiKeyCacheTtlSeconds } = loadConfig({});
    expect(rateLimits).toEqual({
      http: { perSecond: 100, burst: 200 },
      anonymous: { perSecond: 50, burst: 200 },
      socketOps: { perSecond: 50, burst: 100 },
      fetch: { perSecond: 10, burst: 100 },
      maxSocketsPerKey: 100,
    });
    expect(apiKeyCacheTtlSeconds).toBe(10);
  });

  it.each([
    ['RATE_LIMIT_HTTP_PER_SECOND', '-1'],
    ['RATE_LIMIT_ANONYMOUS_BURST', '0'],
    ['RATE_LIMIT_SOCKET_OPS_BURST', '1.5'],
    ['RATE_LIMIT_FETCH_PER_SECOND', 'lots'],
    ['MAX_SOCKETS_PER_KEY', '0'],
    ['API_KEY_CACHE_TTL_SECONDS', '-5'],
  ])('refuses %s=%s naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrowError(new RegExp(variable));
  });
});

describe('HTTP requests', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a key has spent its burst; another key is unaffected', async () => {
    const a = await newKey();
    const b = await newKey();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await viewer(a.key)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const refused = await viewer(a.key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect((await viewer(b.key)).status).toBe(200);
  });

  it('limits requests without a valid key per client address, and leaves health checks alone', async () => {
    const bad = `mgk_0000000000000000.${'A'.repeat(43)}`;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await viewer(bad)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const refused = await fetch(`${gateway.url}/objects/anything`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    // A valid key is counted by key, not by address.
    expect((await viewer((await newKey()).key)).status).toBe(200);
  });
});

describe('GraphQL operations over graphql-ws', () => {
  it('refuses operations past the key\'s burst with a RATE_LIMITED error, and the socket stays open', async () => {
    const { key } = await newKey();
    const ws = socket(key);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ws.run('{ viewer { id } }'));
    expect(results.slice(0, 3).every((r) => r.data?.viewer?.id)).toBe(true);
    expect(results[3]!.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    expect(results[3]!.errors?.[0].extensions.retryAfter).toBeGreaterThanOrEqual(1);
    const state = await Promise.race([ws.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 200))]);
    expect(state).toBe('open');
    await ws.client.dispose();
  });
});

describe('operations that fetch URLs', () => {
  it('share one bucket per key (inspectUrl, createFetchJob): 429 RATE_LIMITED with Retry-After past it', async () => {
    const { key } = await newKey();
    const headers = { 'x-api-key': key };
    const first = await gql(gateway, headers, 'query($u: String!) { inspectUrl(url: $u) { url } }', { u: 'https://example.invalid/a.png' });
    const second = await gql(gateway, headers, 'mutation($u: String!) { createFetchJob(input: { url: $u }) { id } }', { u: 'https://example.invalid/b.png' });
    for (const res of [first, second]) expect(res.body.errors?.[0]?.extensions?.code).not.toBe('RATE_LIMITED');
    expect(second.body.data?.createFetchJob?.id).toBeTruthy();

    const res = await fetch(gateway.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: 'mutation { createFetchJob(input: { url: "https://example.invalid/c.png" }) { id } }' }) });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(body.data ?? null).toBeNull();
    // Nothing was created by the refused operation.
    const jobs = await gql(gateway, headers, '{ fetchJobs { edges { node { id } } } }');
    expect(jobs.body.data.fetchJobs.edges).toHaveLength(1);
  });

  it('counts each aliased fetching field, and other operations of the key are not charged', async () => {
    const { key } = await newKey();
    const headers = { 'x-api-key': key };
    expect((await gql(gateway, headers, '{ viewer { id } }')).status).toBe(200);
    const two = await gql(gateway, headers, '{ a: inspectUrl(url: "https://example.invalid/1") { url } ...F } fragment F on Query { b: inspectUrl(url: "https://example.invalid/2") { url } }');
    expect(JSON.stringify(two.body)).not.toMatch(/RATE_LIMITED/);
    const third = await gql(gateway, headers, '{ inspectUrl(url: "https://example.invalid/3") { url } }');
    expect(third.status).toBe(429);
    expect(third.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('is charged on graphql-ws too, as a coded error', async () => {
    const { key } = await newKey();
    const ws = socket(key);
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await ws.run(`{ inspectUrl(url: "https://example.invalid/${i}") { url } }`));
    expect(runs[2]!.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    await ws.client.dispose();
  });
});

describe('graphql-ws sockets per key', () => {
  it('closes a socket past MAX_SOCKETS_PER_KEY with 4429 and lets a new one in once another closed', async () => {
    const { key } = await newKey();
    const first = socket(key);
    const second = socket(key);
    await Promise.all([first.connected, second.connected]);
    const third = socket(key);
    const closed = await third.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/MAX_SOCKETS_PER_KEY/);
    // Another key has its own allowance.
    const other = socket((await newKey()).key);
    await other.connected;

    await first.client.dispose();
    await first.closed;
    let fourth = socket(key);
    // The server notices the close a moment after the client does.
    for (let i = 0; i < 50; i++) {
      const outcome = await Promise.race([fourth.connected.then(() => 'connected'), fourth.closed.then(() => 'closed')]);
      if (outcome === 'connected') break;
      await new Promise((r) => setTimeout(r, 20));
      fourth = socket(key);
    }
    await fourth.connected;
    await Promise.all([second.client.dispose(), fourth.client.dispose(), other.client.dispose()]);
  });
});
