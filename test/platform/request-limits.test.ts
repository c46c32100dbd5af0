// The request limits of README's "Limits and failure behaviour": each refused
// with its code while the request streams in, over HTTP and graphql-ws.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
let key: string;
beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve', env: { MAX_REQUEST_BODY_BYTES: '8192', MAX_VARIABLE_DEPTH: '6', MAX_VARIABLE_LIST_LENGTH: '20' } });
  ({ key } = await gateway.keyFor('limits'));
});
afterAll(() => gateway?.close());

const search = 'query($s: String) { mediaItems(search: $s) { totalCount } }';

async function post(body: string, contentType = 'application/json') {
  const res = await fetch(gateway.graphqlUrl, { method: 'POST', headers: { 'x-api-key': key, 'content-type': contentType }, body });
  return { status: res.status, body: (await res.json()) as any };
}

describe('request body (MAX_REQUEST_BODY_BYTES)', () => {
  it('a JSON body over the limit is 413 LIMIT_EXCEEDED in both error shapes; one under it runs', async () => {
    const over = await post(JSON.stringify({ query: search, variables: { s: 'x'.repeat(9000) } }));
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('LIMIT_EXCEEDED');
    expect(over.body.errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
    const under = await post(JSON.stringify({ query: search, variables: { s: 'x'.repeat(7000) } }));
    expect(under.status).toBe(200);
    expect(under.body.data.mediaItems.totalCount).toBe(0);
  });

  it('applies to every POST body yoga reads (application/graphql+json), and to GET query strings', async () => {
    const over = await post(JSON.stringify({ query: search, variables: { s: 'x'.repeat(9000) } }), 'application/graphql+json');
    expect(over.status).toBe(413);
    const url = `${gateway.graphqlUrl}?query=${encodeURIComponent(search)}&variables=${encodeURIComponent(JSON.stringify({ s: 'x'.repeat(9000) }))}`;
    const get = await fetch(url, { headers: { 'x-api-key': key } });
    expect(get.status).toBe(413);
    const small = await fetch(`${gateway.graphqlUrl}?query=${encodeURIComponent('{ viewer { name } }')}`, { headers: { 'x-api-key': key } });
    expect(((await small.json()) as any).data.viewer.name).toBe('limits');
  });
});

describe('variables (MAX_VARIABLE_DEPTH, MAX_VARIABLE_LIST_LENGTH)', () => {
  const nested = (depth: number): unknown => (depth === 0 ? 'x' : [nested(depth - 1)]);

  it('nesting deeper than the limit is 400 VALIDATION naming the argument', async () => {
    const res = await post(JSON.stringify({ query: search, variables: { s: nested(7) } }));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('VALIDATION');
    expect(res.body.errors[0].extensions.field).toMatch(/^search(\.0)+$/);
    expect(res.body.errors[0].message).toMatch(/MAX_VARIABLE_DEPTH/);
  });

  it('nesting far deeper than the limit is refused from the raw body, before it is parsed', async () => {
    const res = await post(`{"query":${JSON.stringify(search)},"variables":{"s":${'['.repeat(1000)}${']'.repeat(1000)}}}`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION', field: 'variables' });
  });

  it('a list longer than the limit is 400 VALIDATION naming the argument', async () => {
    const query = 'query($m: [String!]) { inspectUrl(url: "http://example.invalid/", expectedMimeTypes: $m) { mimeType } }';
    const res = await post(JSON.stringify({ query, variables: { m: Array(21).fill('image/png') } }));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION', field: 'expectedMimeTypes' });
    expect(res.body.errors[0].message).toMatch(/MAX_VARIABLE_LIST_LENGTH/);
  });
});

/** A raw graphql-ws socket: messages in order, and the close code. */
function rawSocket() {
  const socket = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: any[] = [];
  const waiting: (() => void)[] = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()));
    waiting.splice(0).forEach((wake) => wake());
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.on('error', () => {});
  return {
    opened: new Promise((resolve) => socket.once('open', resolve)),
    closed,
    send: (message: unknown) => socket.send(JSON.stringify(message)),
    sendRaw: (text: string) => socket.send(text),
    async next(type: string): Promise<any> {
      for (;;) {
        const found = messages.find((m) => m.type === type);
        if (found) return messages.splice(messages.indexOf(found), 1)[0];
        await Promise.race([new Promise<void>((wake) => waiting.push(wake)), closed.then(() => Promise.reject(new Error(`closed before a ${type} message`)))]);
      }
    },
    close: () => socket.close(),
  };
}

describe('graphql-ws messages', () => {
  it('before authentication, a message over MAX_UNAUTHENTICATED_MESSAGE_BYTES (4 KiB) closes the socket with 1009', async () => {
    const socket = rawSocket();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { 'x-api-key': key, padding: 'x'.repeat(5000) } });
    expect(await socket.closed).toBe(1009);
  });

  it('after authentication, messages up to MAX_SOCKET_MESSAGE_BYTES (1 MiB) run and a larger one closes with 1009', async () => {
    const socket = rawSocket();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { 'x-api-key': key } });
    await socket.next('connection_ack');
    socket.send({ id: '1', type: 'subscribe', payload: { query: search, variables: { s: 'x'.repeat(200 * 1024) } } });
    expect((await socket.next('next')).payload.data.mediaItems.totalCount).toBe(0);
    socket.send({ id: '2', type: 'subscribe', payload: { query: search, variables: { s: 'x'.repeat(1100 * 1024) } } });
    expect(await socket.closed).toBe(1009);
  });

  it('variable limits hold over graphql-ws too', async () => {
    const socket = rawSocket();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { 'x-api-key': key } });
    await socket.next('connection_ack');
    socket.send({ id: '1', type: 'subscribe', payload: { query: search, variables: { s: [[[[[[['x']]]]]]] } } });
    // The operation runs no resolver: its one result carries the error.
    expect((await socket.next('next')).payload.errors[0].extensions.code).toBe('VALIDATION');
    socket.send({ id: '2', type: 'subscribe', payload: { query: search, variables: { s: 'a\u0000b' } } });
    expect((await socket.next('next')).payload.errors[0].extensions).toMatchObject({ code: 'VALIDATION', field: 'search' });
    socket.close();
  });

  it('a message nesting far too deep is refused from its bytes: the socket closes with 4400', async () => {
    const socket = rawSocket();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { 'x-api-key': key } });
    await socket.next('connection_ack');
    const deep = `{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(search)},"variables":{"s":${'['.repeat(1000)}${']'.repeat(1000)}}}}`;
    socket.sendRaw(deep);
    expect(await socket.closed).toBe(4400);
  });
});
