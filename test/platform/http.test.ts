import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/platform/db/embedded.js';
import { migrateFresh } from '../support/migrate-fresh.js';
import { gql, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve' });
});
afterAll(() => gateway?.close());

describe('HTTP endpoints', () => {
  it('/healthz answers while the process is up', async () => {
    const res = await fetch(`${gateway.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks the database', async () => {
    const res = await fetch(`${gateway.url}/readyz`);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('ready');
  });

  it('/metrics serves Prometheus text with HTTP and GraphQL counters', async () => {
    const { key } = await gateway.keyFor('metrics');
    await gql(gateway, { 'x-api-key': key }, 'query Probe { viewer { id } }');
    const res = await fetch(`${gateway.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/media_gateway_http_requests_total\{method="POST",route="graphql",status="200"\} \d+/);
    expect(text).toMatch(/media_gateway_graphql_operations_total\{type="query",name="Probe",result="ok"\} 1/);
    expect(text).toContain('media_gateway_http_request_duration_seconds_bucket');
  });

  it('every response carries a request id, echoing the caller\'s', async () => {
    const res = await fetch(`${gateway.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const other = await fetch(`${gateway.url}/healthz`);
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('unknown routes get a JSON 404', async () => {
    const res = await fetch(`${gateway.url}/nope`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('NOT_FOUND');
  });
});

describe('/readyz when the database goes away', () => {
  it('answers 503 naming the database', async () => {
    const dir = tempDir('mg-readyz-');
    const pg = await startEmbeddedPostgres(dir);
    await migrateFresh(pg.url);
    const own = await startTestGateway({ mode: 'serve', databaseUrl: pg.url });
    try {
      expect((await fetch(`${own.url}/readyz`)).status).toBe(200);
      await pg.stop();
      const res = await fetch(`${own.url}/readyz`);
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.status).toBe('unavailable');
      expect(Object.keys(body.failures)).toContain('database');
      expect((await fetch(`${own.url}/healthz`)).status).toBe(200);
    } finally {
      await Promise.race([own.close(), new Promise((r) => setTimeout(r, 5000))]);
    }
  });
});
