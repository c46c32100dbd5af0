// The GraphQL spec serialises an object's fields in the order the query asks
// for them. An executor that writes each field when its resolver settles puts
// async fields (signed links) last; clients that compare or diff responses see that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { makeJpeg, upload } from '../media-items/helpers.js';

let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key } = await gw.keyFor('field-order'));
  const stored = await upload(gw, key, await makeJpeg(), { name: 'photo.jpg', input: { title: 'ordered' } });
  expect(stored.body.errors).toBeUndefined();
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe('response field order', () => {
  it('follows the query, async link fields included, at every level', async () => {
    const fields = ['id', 'title', 'mimeType', 'mediaSize', 'thumbnailUrl', 'downloadUrl'];
    const r = await gql(gw, { 'x-api-key': key }, `{ mediaItems(pageSize: 50) { totalCount nodes { ${fields.join(' ')} } pageSize } }`);
    expect(r.body.errors).toBeUndefined();
    expect(Object.keys(r.body.data.mediaItems)).toEqual(['totalCount', 'nodes', 'pageSize']);
    const [node] = r.body.data.mediaItems.nodes;
    expect(Object.keys(node)).toEqual(fields);
  });

  it('follows the query when async fields come first and aliases are used', async () => {
    const r = await gql(gw, { 'x-api-key': key }, '{ mediaItems { nodes { link: downloadUrl thumb: thumbnailUrl(expiresInSeconds: 60) title id } } viewer { id } }');
    expect(r.body.errors).toBeUndefined();
    expect(Object.keys(r.body.data)).toEqual(['mediaItems', 'viewer']);
    expect(Object.keys(r.body.data.mediaItems.nodes[0])).toEqual(['link', 'thumb', 'title', 'id']);
  });
});
