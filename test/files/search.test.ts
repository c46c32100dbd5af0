// filesByEntity: newest first, opaque keyset cursors, stable while files keep arriving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { ENTITY } from './helpers.js';

let gw: TestGateway;
let headers: Record<string, string>;
const OTHER_ENTITY = 'EC9UNVLDH|PROD-123|SHORTAGE|f2a18161-c2d4-4834-9133-2466c9b702ad';

const CREATE = 'mutation($input: CreateFileUploadInput!) { createFileUpload(input: $input) { file { id createdAt } } }';
const PAGE = `query($entityId: String!, $first: Int, $after: String, $status: FileStatus) {
  filesByEntity(entityType: SHIPMENT_ITEM, entityId: $entityId, first: $first, after: $after, status: $status) {
    edges { cursor node { id createdAt status entityId } } pageInfo { hasNextPage endCursor } } }`;

async function create(entityId: string, n: number): Promise<string> {
  const res = await gql(gw, headers, CREATE, { input: { entityType: 'SHIPMENT_ITEM', entityId, contentType: 'image/jpeg', fileSize: 1000 + n, fileName: `f${n}.jpg` } });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createFileUpload.file.id;
}

beforeAll(async () => {
  gw = await startTestGateway({ mode: 'serve' });
  headers = { 'x-api-key': (await gw.keyFor('files-search')).key };
});
afterAll(() => gw?.close());

describe('filesByEntity', () => {
  it('pages through 250 files newest first, unaffected by files added meanwhile', async () => {
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      ids.push(...(await Promise.all(Array.from({ length: 25 }, (_, i) => create(ENTITY, batch * 25 + i)))));
    }
    await create(OTHER_ENTITY, 999);
    const seen: { id: string; createdAt: string }[] = [];
    const addedMeanwhile: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: { body: any } = await gql(gw, headers, PAGE, { entityId: ENTITY, first: 100, after });
      expect(res.body.errors).toBeUndefined();
      const conn: any = res.body.data.filesByEntity;
      seen.push(...conn.edges.map((e: any) => e.node));
      pages++;
      // Newer files sort before the cursor: paging on must neither repeat nor skip.
      addedMeanwhile.push(await create(ENTITY, 1000 + pages));
      if (!conn.pageInfo.hasNextPage) break;
      expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1).cursor);
      after = conn.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen.map((f) => f.id).sort()).toEqual([...ids].sort());
    const times = seen.map((f) => Date.parse(f.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seen.some((f) => addedMeanwhile.includes(f.id))).toBe(false);

    const fresh = await gql(gw, headers, PAGE, { entityId: ENTITY, first: 3 });
    expect(fresh.body.data.filesByEntity.edges.map((e: any) => e.node.id)).toEqual([...addedMeanwhile].reverse());
  });

  it('filters by status and validates first and after', async () => {
    const uploading = await gql(gw, headers, PAGE, { entityId: OTHER_ENTITY, status: 'UPLOADING' });
    expect(uploading.body.data.filesByEntity.edges).toHaveLength(1);
    const ready = await gql(gw, headers, PAGE, { entityId: OTHER_ENTITY, status: 'READY' });
    expect(ready.body.data.filesByEntity.edges).toEqual([]);
    for (const first of [0, 101]) {
      const res = await gql(gw, headers, PAGE, { entityId: ENTITY, first });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'first' });
    }
    const bad = await gql(gw, headers, PAGE, { entityId: ENTITY, after: 'not-a-cursor' });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'after' });
  });

  it('the entity subscription is refused for a malformed entity id', async () => {
    const { createClient } = await import('graphql-ws');
    const { default: WebSocket } = await import('ws');
    const client = createClient({ url: `${gw.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0 });
    const errors = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription { filesByEntity(entityType: SHIPMENT_ITEM, entityId: "x|y") { id } }' }, { next: (r) => resolve(r.errors), error: resolve, complete: () => resolve('completed') });
    });
    await client.dispose();
    expect(JSON.stringify(errors)).toMatch(/"code":"VALIDATION"/);
  });
});
