import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
let key: string;
let keyId: string;
let accountId: string;

beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve' });
  ({ key, keyId, accountId } = await gateway.keyFor('alpha'));
});
afterAll(() => gateway?.close());

const viewer = '{ viewer { id name } }';

describe('API key authentication', () => {
  it.each([
    ['X-API-KEY', () => ({ 'x-api-key': key })],
    ['Authorization: Bearer', () => ({ authorization: `Bearer ${key}` })],
    ['Authorization: Basic id:secret', () => ({ authorization: `Basic ${Buffer.from(key.replace('.', ':')).toString('base64')}` })],
  ])('%s authenticates the key to its account', async (_name, headers) => {
    const res = await gql(gateway, headers(), viewer);
    expect(res.status).toBe(200);
    expect(res.body.data.viewer.name).toBe('alpha');
    expect(res.body.data.viewer.id).toBeTruthy();
  });

  it.each([
    ['missing', {}, 'UNAUTHENTICATED'],
    ['malformed X-API-KEY', { 'x-api-key': 'not-a-key' }, 'KEY_MALFORMED'],
    ['malformed Bearer', { authorization: 'Bearer abc' }, 'KEY_MALFORMED'],
    ['malformed Basic', { authorization: 'Basic !!!' }, 'KEY_MALFORMED'],
    ['unsupported scheme', { authorization: 'Digest foo' }, 'KEY_MALFORMED'],
    ['unknown key id', { 'x-api-key': `mgk_0000000000000000.${'A'.repeat(43)}` }, 'KEY_UNKNOWN'],
  ])('%s key gets 401 with a JSON error naming the problem', async (_name, headers, code) => {
    const res = await gql(gateway, headers as Record<string, string>, viewer);
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe(code);
    expect(res.body.error?.message).toMatch(/\w/);
  });

  it('a known key id with a wrong secret is refused like an unknown key', async () => {
    const wrong = `${keyId}.${'B'.repeat(43)}`;
    const res = await gql(gateway, { 'x-api-key': wrong }, viewer);
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('KEY_UNKNOWN');
  });

  it('a revoked key gets 401 KEY_REVOKED, other keys keep working', async () => {
    const other = await gateway.keyFor('alpha');
    const revoke = await gql(gateway, { 'x-api-key': key }, 'mutation($id: String!) { revokeApiKey(id: $id) }', { id: other.keyId });
    expect(revoke.body.data.revokeApiKey).toBe(true);
    const res = await gql(gateway, { 'x-api-key': other.key }, viewer);
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('KEY_REVOKED');
    expect((await gql(gateway, { 'x-api-key': key }, viewer)).status).toBe(200);
  });

  it("cannot revoke another account's key", async () => {
    const beta = await gateway.keyFor('beta');
    const res = await gql(gateway, { 'x-api-key': key }, 'mutation($id: String!) { revokeApiKey(id: $id) }', { id: beta.keyId });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gql(gateway, { 'x-api-key': beta.key }, viewer)).status).toBe(200);
  });

  it('node(id) resolves only the caller\'s own account', async () => {
    const own = await gql(gateway, { 'x-api-key': key }, viewer);
    const id = own.body.data.viewer.id;
    const beta = await gateway.keyFor('beta');
    const mine = await gql(gateway, { 'x-api-key': key }, 'query($id: ID!) { node(id: $id) { id ... on Account { name } } }', { id });
    expect(mine.body.data.node.name).toBe('alpha');
    const theirs = await gql(gateway, { 'x-api-key': beta.key }, 'query($id: ID!) { node(id: $id) { id } }', { id });
    expect(theirs.body.data.node).toBeNull();
    expect(accountId).toBeTruthy();
  });

  it('graphql-ws refuses a connection without a valid key (close 4401)', async () => {
    const closed = new Promise<number>((resolve) => {
      const client = createClient({
        url: gateway.graphqlUrl.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { 'x-api-key': 'mgk_0000000000000000.' + 'C'.repeat(43) },
        retryAttempts: 0,
        lazy: false,
        on: { closed: (event) => resolve((event as { code: number }).code) },
        onNonLazyError: () => {},
      });
      setTimeout(() => client.dispose(), 5000).unref();
    });
    expect(await closed).toBe(4401);
  });
});
