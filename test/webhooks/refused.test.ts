// Without FETCH_ALLOW_NETWORKS a loopback receiver is refused by the egress
// policy: the delivery fails at once, with the reason, and no request is made.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { DELIVERY_FIELDS, startReceiver, until, type Receiver } from './receiver.js';

let gw: TestGateway;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  gw = await startTestGateway({ mode: 'all', env: { WEBHOOK_RETRY_BASE_SECONDS: '1' } });
});
afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

it('fails a delivery to a refused address without retrying or connecting', async () => {
  const { key, accountId } = await gw.keyFor('webhooks-refused');
  const services = gw.runtime.services;
  const { deliveryId } = await services.database.db.transaction((tx) =>
    services.webhooks.enqueue(tx, { accountId, url: receiver.url('/private'), eventType: 'fetch_job.completed', payload: { id: 'j' } }),
  );
  const d = await until(async () => {
    const res = await gql(gw, { 'x-api-key': key }, `query($id: ID!) { webhookDelivery(id: $id) { ${DELIVERY_FIELDS} } }`, { id: deliveryId });
    const row = res.body.data?.webhookDelivery;
    return row?.status !== 'PENDING' ? row : undefined;
  });
  expect(d).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: null, nextRetryAt: null });
  expect(d.lastError).toMatch(/^URL_NOT_ALLOWED: .*loopback/);
  expect(d.attemptLog).toEqual([expect.objectContaining({ attempt: 1, statusCode: null, error: d.lastError })]);
  await new Promise((r) => setTimeout(r, 1500));
  expect(receiver.requests('/private')).toHaveLength(0);
});
