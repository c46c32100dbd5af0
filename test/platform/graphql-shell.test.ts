import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printSchemaSDL } from '../../src/app/schema.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
let headers: Record<string, string>;

beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve' });
  headers = { 'x-api-key': (await gateway.keyFor('shell')).key };
});
afterAll(() => gateway?.close());

describe('GraphQL shell', () => {
  it('schema.graphql is printed from the code (run `npm run schema:print` when this fails)', () => {
    const checkedIn = fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(checkedIn).toBe(printSchemaSDL());
  });

  it('declares the scalars and the typed error interface', () => {
    const sdl = printSchemaSDL();
    for (const part of ['scalar DateTime', 'scalar JSON', 'scalar Upload', 'interface Error', 'enum ErrorCode', 'interface Node', 'type ValidationError implements Error']) {
      expect(sdl).toContain(part);
    }
    expect(sdl).not.toMatch(/^scalar File$/m);
  });

  it('armor refuses an over-deep query with LIMIT_EXCEEDED', async () => {
    let selection = 'id';
    for (let i = 0; i < 20; i++) selection = `apiKeys { ${selection} }`;
    const res = await gql(gateway, headers, `{ viewer { ${selection} } }`);
    const codes = (res.body.errors ?? []).map((e) => e.extensions?.code);
    expect(codes).toContain('LIMIT_EXCEEDED');
    expect(res.body.data).toBeUndefined();
  });

  it('armor refuses an over-aliased query with LIMIT_EXCEEDED', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: id`).join(' ');
    const res = await gql(gateway, headers, `{ viewer { ${aliases} } }`);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
  });

  it('a modest query passes the limits', async () => {
    const aliases = Array.from({ length: 5 }, (_, i) => `a${i}: id`).join(' ');
    const res = await gql(gateway, headers, `{ viewer { ${aliases} apiKeys { id label createdAt } } }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.viewer.apiKeys.length).toBeGreaterThan(0);
  });

  it('argument validation gives VALIDATION naming the field', async () => {
    const res = await gql(gateway, headers, 'mutation($l: String) { createApiKey(label: $l) { id } }', { l: 'x'.repeat(300) });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    expect(res.body.errors?.[0]?.extensions?.field).toBe('label');
  });

  it('serves GraphiQL with an example operation and the auth header hint', async () => {
    const res = await fetch(gateway.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('X-API-KEY');
    expect(html).toContain('viewer');
  });
});
