// Webhook delivery end to end: a real gateway (workers in process, real
// PostgreSQL) sends to a real receiver on loopback, which FETCH_ALLOW_NETWORKS opens.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { verifyWebhook } from '../../src/webhooks/signing.js';
import { DELIVERY_FIELDS, startReceiver, until, type Receiver } from './receiver.js';

let gw: TestGateway;
let receiver: Receiver;
let account: { key: string; accountId: string };
let headers: Record<string, string>;
let otherHeaders: Record<string, string>;

beforeAll(async () => {
  receiver = await startReceiver();
  gw = await startTestGateway({ mode: 'all', env: { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_RETRY_MAX_SECONDS: '30', WEBHOOK_MAX_ATTEMPTS: '5', WEBHOOK_TIMEOUT_MS: '5000' } });
  account = await gw.keyFor('webhooks-a');
  headers = { 'x-api-key': account.key };
  otherHeaders = { 'x-api-key': (await gw.keyFor('webhooks-b')).key };
});
afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

const services = () => gw.runtime.services;

async function enqueue(path: string, payload: Record<string, unknown> = { id: path }) {
  return services().database.db.transaction((tx) => services().webhooks.enqueue(tx, { accountId: account.accountId, url: receiver.url(path), eventType: 'fetch_job.completed', payload }));
}

async function delivery(id: string, as = headers) {
  return gql(gw, as, `query($id: ID!) { webhookDelivery(id: $id) { ${DELIVERY_FIELDS} } }`, { id });
}

const finished = (id: string) => until(async () => {
  const d = (await delivery(id)).body.data?.webhookDelivery;
  return d && d.status !== 'PENDING' ? d : undefined;
}, 20_000, `delivery ${id} to finish`);

function hmac(secret: string, id: string, ts: string, body: string) {
  return createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${ts}.${body}`).digest('base64');
}

async function viewerSecret(): Promise<string> {
  const res = await gql(gw, headers, '{ viewer { webhookSecret } }');
  return res.body.data.viewer.webhookSecret;
}

describe('webhook delivery', () => {
  it('POSTs a signed Standard Webhooks message after the enqueuing transaction commits', async () => {
    const secret = await viewerSecret();
    expect(secret).toMatch(/^whsec_/);
    expect(await services().webhooks.secretFor(account.accountId)).toBe(secret);
    const { deliveryId, webhookId } = await enqueue('/ok', { id: 'job-1', status: 'SUCCESS' });
    const d = await finished(deliveryId);
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 200, lastError: null, nextRetryAt: null, webhookId, eventType: 'fetch_job.completed' });
    expect(d.deliveredAt).toBeTruthy();
    expect(d.attemptLog).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200, error: null })]);

    const [req] = receiver.requests('/ok');
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toBe('media-gateway');
    expect(req!.headers['webhook-id']).toBe(webhookId);
    const ts = String(req!.headers['webhook-timestamp']);
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(30);
    // Computed here independently of the gateway's signing code.
    expect(req!.headers['webhook-signature']).toBe(`v1,${hmac(secret, webhookId, ts, req!.body)}`);
    const body = JSON.parse(req!.body);
    expect(body).toEqual({ type: 'fetch_job.completed', timestamp: expect.any(String), data: { id: 'job-1', status: 'SUCCESS' } });
    expect(verifyWebhook(secret, req!.headers, req!.body)).toEqual(body);
  });

  it('retries 500s with growing gaps and the same webhook-id, then delivers', async () => {
    receiver.script('/flaky', [500, 500, 200]);
    const { deliveryId, webhookId } = await enqueue('/flaky');
    const d = await finished(deliveryId);
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 3, lastStatusCode: 200, lastError: null });
    expect(d.attemptLog.map((a: any) => [a.attempt, a.statusCode, a.error])).toEqual([[1, 500, 'HTTP 500'], [2, 500, 'HTTP 500'], [3, 200, null]]);
    const reqs = receiver.requests('/flaky');
    expect(reqs).toHaveLength(3);
    expect(new Set(reqs.map((r) => r.headers['webhook-id']))).toEqual(new Set([webhookId]));
    // Same body on every attempt, so the signature only moves with the timestamp.
    expect(new Set(reqs.map((r) => r.body)).size).toBe(1);
    const gaps = [reqs[1]!.at - reqs[0]!.at, reqs[2]!.at - reqs[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(750);
    expect(gaps[1]).toBeGreaterThan(gaps[0]!);
  });

  it('shows the next retry while waiting', async () => {
    receiver.script('/down', [503]);
    const { deliveryId } = await enqueue('/down');
    const d = await until(async () => {
      const row = (await delivery(deliveryId)).body.data?.webhookDelivery;
      return row?.attempts >= 1 ? row : undefined;
    });
    expect(d).toMatchObject({ status: 'PENDING', lastStatusCode: 503, lastError: 'HTTP 503' });
    expect(Date.parse(d.nextRetryAt)).toBeGreaterThan(Date.parse(d.attemptLog[0].at));
  });

  it('stops at once on 410 Gone', async () => {
    receiver.script('/gone', [410]);
    const { deliveryId } = await enqueue('/gone');
    const d = await finished(deliveryId);
    expect(d).toMatchObject({ status: 'GAVE_UP', attempts: 1, lastStatusCode: 410, nextRetryAt: null });
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.requests('/gone')).toHaveLength(1);
  });

  it('sends nothing when the enqueuing transaction rolls back', async () => {
    let id: string | undefined;
    await expect(
      services().database.db.transaction(async (tx) => {
        id = (await services().webhooks.enqueue(tx, { accountId: account.accountId, url: receiver.url('/rollback'), eventType: 'fetch_job.failed', payload: {} })).deliveryId;
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.requests('/rollback')).toHaveLength(0);
    expect((await delivery(id!)).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('signs with the new key after rotation', async () => {
    const before = await viewerSecret();
    const rotated = await gql(gw, headers, 'mutation { rotateWebhookSecret }');
    const after = rotated.body.data.rotateWebhookSecret;
    expect(after).toMatch(/^whsec_/);
    expect(after).not.toBe(before);
    expect(await viewerSecret()).toBe(after);
    const { deliveryId, webhookId } = await enqueue('/rotated');
    await finished(deliveryId);
    const [req] = receiver.requests('/rotated');
    const ts = String(req!.headers['webhook-timestamp']);
    expect(req!.headers['webhook-signature']).toBe(`v1,${hmac(after, webhookId, ts, req!.body)}`);
    expect(() => verifyWebhook(before, req!.headers, req!.body)).toThrow();
  });

  it('lists deliveries newest first with cursor paging, only to their account', async () => {
    const all: any[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: any = await gql(gw, headers, 'query($after: String) { webhookDeliveries(first: 2, after: $after) { edges { cursor node { id createdAt } } pageInfo { hasNextPage endCursor } } }', { after });
      const conn = res.body.data.webhookDeliveries;
      expect(conn.edges.length).toBeLessThanOrEqual(2);
      all.push(...conn.edges.map((e: any) => e.node));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    // ok, flaky, down, gone, rotated: the rolled-back one never existed.
    expect(all.length).toBe(5);
    expect(new Set(all.map((n) => n.id)).size).toBe(all.length);
    const times = all.map((n) => Date.parse(n.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const mine = await gql(gw, headers, '{ webhookDeliveries(first: 100) { nodes { id } } }');
    expect(mine.body.data.webhookDeliveries.nodes.map((n: any) => n.id)).toEqual(all.map((n) => n.id));
    const other = await gql(gw, otherHeaders, '{ webhookDeliveries(first: 100) { nodes { id } edges { node { id } } } }');
    expect(other.body.data.webhookDeliveries).toEqual({ nodes: [], edges: [] });
    expect((await delivery(all[0].id, otherHeaders)).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const tooMany = await gql(gw, headers, '{ webhookDeliveries(first: 101) { edges { cursor } } }');
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    const badCursor = await gql(gw, headers, '{ webhookDeliveries(after: "nope") { edges { cursor } } }');
    expect(badCursor.body.errors?.[0]?.extensions?.code).toBe('VALIDATION');
  });
});
