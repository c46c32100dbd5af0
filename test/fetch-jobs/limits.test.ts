// Refusals that depend on the gateway's configuration: size limit and egress policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makeWav, sendBytes, startRoutes } from './fixtures.js';
import { expectFailed, headers, storedObjects } from './helpers.js';

let server: TestServer;
const wav = makeWav(20_000);
const gateways: TestGateway[] = [];

beforeAll(async () => {
  server = await startRoutes({
    '/sound.wav': (req, res) => sendBytes(req, res, wav, 'audio/wav'),
    // No Content-Length: only counting the bytes can catch it.
    '/chunked.wav': (req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.end(wav);
    },
  });
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await closeAll();
});

describe('limits and policy', () => {
  it('over MAX_FETCH_BYTES → TOO_LARGE (declared or counted), nothing stored', async () => {
    const gw = await startTestGateway({ env: { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', MAX_FETCH_BYTES: '10000' } });
    gateways.push(gw);
    const { key } = await gw.keyFor('small');
    await expectFailed(gw, key, { url: `${server.origin}/sound.wav` }, 'TOO_LARGE');
    await expectFailed(gw, key, { url: `${server.origin}/chunked.wav` }, 'TOO_LARGE');
    const r = await gql(gw, headers(key), 'query($url: String!) { inspectUrl(url: $url) { verdict size } }', { url: `${server.origin}/sound.wav` });
    expect(r.body.data?.inspectUrl).toEqual({ verdict: 'TOO_LARGE', size: wav.length });
    expect(storedObjects(gw)).toEqual([]);
  });

  it('without FETCH_ALLOW_NETWORKS a loopback URL → URL_NOT_ALLOWED, never contacted', async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const { key } = await gw.keyFor('strict');
    const seen = server.seen.length;
    await expectFailed(gw, key, { url: `${server.origin}/sound.wav` }, 'URL_NOT_ALLOWED');
    const r = await gql(gw, headers(key), 'query($url: String!) { inspectUrl(url: $url) { verdict verdictReason } }', { url: `${server.origin}/sound.wav` });
    expect(r.body.data?.inspectUrl.verdict).toBe('URL_NOT_ALLOWED');
    expect(server.seen.length).toBe(seen);
  });
});
