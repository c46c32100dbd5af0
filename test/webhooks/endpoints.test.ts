// Account webhook endpoints fed from the event log: subscribed types only,
// signed with the endpoint's own secret (two signatures during a rotation's
// grace), in order per record under retries, redelivery, and automatic
// disabling after a run of failed deliveries, announced as an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/webhooks/signing.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { subscribeWs } from '../support/subscribers.js';
import { makeWav, upload } from '../media-items/helpers.js';
import { startReceiver, until, type Receiver } from './receiver.js';

let gw: TestGateway;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  gw = await startTestGateway({ env: { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_MAX_ATTEMPTS: '2', WEBHOOK_ENDPOINT_DISABLE_AFTER: '2' } });
});
afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

const ENDPOINT = 'id url eventTypes enabled disabledReason consecutiveFailures secret';
async function createEndpoint(key: string, path: string, eventTypes: string[]) {
  const r = await gql(gw, { 'x-api-key': key }, `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { ${ENDPOINT} } }`, { i: { url: receiver.url(path), eventTypes, description: path } });
  if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
  return r.body.data.createWebhookEndpoint;
}
const bodies = (path: string) => receiver.requests(path).map((r) => JSON.parse(r.body));

describe('webhook endpoints', () => {
  it('sends the subscribed event types, signed with the endpoint secret, and lists them per endpoint', async () => {
    const { key } = await gw.keyFor('ep-types');
    const endpoint = await createEndpoint(key, '/ep-types', ['media_item.*']);
    expect(endpoint).toMatchObject({ enabled: true, eventTypes: ['media_item.*'] });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const { item } = await upload(gw, key, makeWav(500), { name: 'a.wav' });
    await gql(gw, { 'x-api-key': key }, 'mutation { pingEvents(message: "not subscribed") }');
    await gql(gw, { 'x-api-key': key }, 'mutation($id: ID!) { deleteMediaItem(id: $id) }', { id: item.id });
    await until(() => receiver.requests('/ep-types').length >= 2, 15_000, 'two deliveries');
    await new Promise((r) => setTimeout(r, 500));
    const requests = receiver.requests('/ep-types');
    expect(requests.map((r) => JSON.parse(r.body).type)).toEqual(['media_item.created', 'media_item.deleted']);
    for (const r of requests) expect(verifyWebhook(endpoint.secret, r.headers as Record<string, string>, r.body)).toBeTruthy();
    expect(bodies('/ep-types')[0].data).toMatchObject({ topic: 'media-item', id: item.uuid, type: 'CREATED' });
    const listed = await gql(gw, { 'x-api-key': key }, 'query($id: ID!) { webhookEndpoint(id: $id) { deliveries { nodes { eventType status eventSeq } } } }', { id: endpoint.id });
    expect(listed.body.data.webhookEndpoint.deliveries.nodes.map((d: any) => [d.eventType, d.status])).toEqual([['media_item.deleted', 'DELIVERED'], ['media_item.created', 'DELIVERED']]);
  });

  it('delivers in order per record even when the first delivery has to be retried', async () => {
    const { key } = await gw.keyFor('ep-order');
    receiver.script('/ep-order', [500, 200]);
    await createEndpoint(key, '/ep-order', ['media_item.created', 'media_item.updated']);
    const { item } = await upload(gw, key, makeWav(300), { name: 'o.wav' });
    await gql(gw, { 'x-api-key': key }, 'mutation($id: ID!) { updateMediaItem(id: $id, input: { title: "second" }) { id } }', { id: item.id });
    await until(() => receiver.requests('/ep-order').length >= 3, 15_000, 'retry then the update');
    expect(bodies('/ep-order').map((b) => b.type)).toEqual(['media_item.created', 'media_item.created', 'media_item.updated']);
  });

  it('signs with both secrets during a rotation\'s grace period, then with the new one only', async () => {
    const { key } = await gw.keyFor('ep-rotate');
    const endpoint = await createEndpoint(key, '/ep-rotate', ['ping']);
    const rotated = (await gql(gw, { 'x-api-key': key }, `mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id, graceSeconds: 3600) { secret previousSecretExpiresAt } }`, { id: endpoint.id })).body.data.rotateWebhookEndpointSecret;
    expect(rotated.secret).not.toBe(endpoint.secret);
    await gql(gw, { 'x-api-key': key }, 'mutation { pingEvents(message: "during grace") }');
    const during = await until(() => receiver.requests('/ep-rotate')[0], 15_000, 'a ping');
    expect(during.headers['webhook-signature']!.toString().split(' ')).toHaveLength(2);
    expect(verifyWebhook(rotated.secret, during.headers as Record<string, string>, during.body)).toBeTruthy();
    expect(verifyWebhook(endpoint.secret, during.headers as Record<string, string>, during.body)).toBeTruthy();
    const again = (await gql(gw, { 'x-api-key': key }, `mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id, graceSeconds: 0) { secret } }`, { id: endpoint.id })).body.data.rotateWebhookEndpointSecret;
    await gql(gw, { 'x-api-key': key }, 'mutation { pingEvents(message: "after grace") }');
    const after = await until(() => receiver.requests('/ep-rotate')[1], 15_000, 'a second ping');
    expect(verifyWebhook(again.secret, after.headers as Record<string, string>, after.body)).toBeTruthy();
    expect(() => verifyWebhook(rotated.secret, after.headers as Record<string, string>, after.body)).toThrow();
  });

  it('redelivers a finished delivery with the same webhook-id, and refuses one still being tried', async () => {
    const { key } = await gw.keyFor('ep-redeliver');
    // Delivered first; the redelivery's first try fails, so it is still being tried a second later.
    receiver.script('/ep-redeliver', [200, 500, 200]);
    await createEndpoint(key, '/ep-redeliver', ['ping']);
    await gql(gw, { 'x-api-key': key }, 'mutation { pingEvents(message: "once") }');
    const delivery = await until(async () => (await gql(gw, { 'x-api-key': key }, '{ webhookDeliveries { nodes { id webhookId status attempts } } }')).body.data.webhookDeliveries.nodes.find((d: any) => d.status === 'DELIVERED'), 15_000, 'delivered');
    const again = await gql(gw, { 'x-api-key': key }, 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }', { id: delivery.id });
    expect(again.body.data.redeliverWebhook.status).toBe('PENDING');
    const twice = await gql(gw, { 'x-api-key': key }, 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }', { id: delivery.id });
    expect(twice.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    await until(() => receiver.requests('/ep-redeliver').length >= 3, 15_000, 'the redelivery and its retry');
    const ids = receiver.requests('/ep-redeliver').map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(1);
    const { key: other } = await gw.keyFor('ep-stranger');
    const theirs = await gql(gw, { 'x-api-key': other }, 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }', { id: delivery.id });
    expect(theirs.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('disables itself after a run of failed deliveries, says so on accountEvents, and sends nothing more', async () => {
    const { key } = await gw.keyFor('ep-failing');
    receiver.script('/ep-failing', [500]);
    const endpoint = await createEndpoint(key, '/ep-failing', ['ping']);
    const events = subscribeWs(gw.url, key, 'subscription { accountEvents(topics: ["webhook-endpoint"]) { seq topic type id data } }');
    await new Promise((r) => setTimeout(r, 300));
    await gql(gw, { 'x-api-key': key }, 'mutation { pingEvents(message: "1") }');
    await gql(gw, { 'x-api-key': key }, 'mutation { pingEvents(message: "2") }');
    const disabled = await events.waitFor((e) => e.data.status === 'DISABLED', 20_000);
    expect(disabled).toMatchObject({ topic: 'webhook-endpoint', type: 'STATE', id: endpoint.id });
    const now = (await gql(gw, { 'x-api-key': key }, `query($id: ID!) { webhookEndpoint(id: $id) { ${ENDPOINT} } }`, { id: endpoint.id })).body.data.webhookEndpoint;
    expect(now).toMatchObject({ enabled: false, consecutiveFailures: 2, disabledReason: 'disabled after 2 failed deliveries in a row' });
    const sent = receiver.requests('/ep-failing').length;
    await gql(gw, { 'x-api-key': key }, 'mutation { pingEvents(message: "3") }');
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.requests('/ep-failing').length).toBe(sent);
    await events.close();
  });

  it('refuses bad endpoints with VALIDATION and other accounts\' ids as NOT_FOUND', async () => {
    const { key } = await gw.keyFor('ep-bad');
    const bad = await gql(gw, { 'x-api-key': key }, 'mutation { createWebhookEndpoint(input: { url: "ftp://x", eventTypes: ["*"] }) { id } }');
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'url' });
    const badType = await gql(gw, { 'x-api-key': key }, `mutation($u: String!) { createWebhookEndpoint(input: { url: $u, eventTypes: ["Files!"] }) { id } }`, { u: receiver.url('/x') });
    expect(badType.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'eventTypes' });
    const mine = await createEndpoint(key, '/mine', ['*']);
    const { key: other } = await gw.keyFor('ep-other');
    for (const op of ['mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', 'mutation($id: ID!) { disableWebhookEndpoint(id: $id) { id } }', 'query($id: ID!) { webhookEndpoint(id: $id) { id } }']) {
      const r = await gql(gw, { 'x-api-key': other }, op, { id: mine.id });
      expect(r.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });
});
