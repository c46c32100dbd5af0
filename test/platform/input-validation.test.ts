// Bad values get a coded 4xx naming the field — never INTERNAL with HTTP 200.
// Each row was INTERNAL (or a crash) before: PostgreSQL refusing NUL and year 0,
// the Relay id decoder throwing, the multipart parser throwing.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { postMultipart, type MultipartRequest } from '../support/multipart.js';

let gateway: TestGateway;
let key: string;
let otherKey: string;
beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve' });
  ({ key } = await gateway.keyFor('validation'));
  ({ key: otherKey } = await gateway.keyFor('validation-other'));
});
afterAll(() => gateway?.close());

const ENTITY_ID = '1RT823V93|SKU-001|DAMAGED|51076f94-b531-483c-884b-35ad67afa113';
const NUL = 'a\u0000b';

type Row = [name: string, status: number, code: string, field: string, query: string, variables: Record<string, unknown>];

const operationRows: Row[] = [
  ['NUL in search (variable)', 400, 'VALIDATION', 'search', 'query($s: String) { mediaItems(search: $s) { totalCount } }', { s: NUL }],
  ['NUL in search (literal)', 400, 'VALIDATION', 'search', 'query { mediaItems(search: "a\\u0000b") { totalCount } }', {}],
  ['NUL in url', 400, 'VALIDATION', 'url', 'query($u: String!) { inspectUrl(url: $u) { mimeType } }', { u: `http://example.com/${NUL}` }],
  ['NUL in a list item', 400, 'VALIDATION', 'expectedMimeTypes.1', 'query($m: [String!]) { inspectUrl(url: "http://example.com/", expectedMimeTypes: $m) { mimeType } }', { m: ['image/png', `image/${NUL}`] }],
  ['NUL in fileName', 400, 'VALIDATION', 'input.fileName', 'mutation($i: CreateFileUploadInput!) { createFileUpload(input: $i) { uploadUrl } }', { i: { entityType: 'SHIPMENT_ITEM', entityId: ENTITY_ID, contentType: 'image/png', fileSize: 10, fileName: `x${NUL}.png` } }],
  ['NUL in fileName (literal in an input object)', 400, 'VALIDATION', 'input.fileName', `mutation { createFileUpload(input: { entityType: SHIPMENT_ITEM, entityId: "${ENTITY_ID}", contentType: "image/png", fileSize: 10, fileName: "x\\u0000.png" }) { uploadUrl } }`, {}],
  ['NUL in idempotencyKey', 400, 'VALIDATION', 'input.idempotencyKey', 'mutation($i: CreateFetchJobInput!) { createFetchJob(input: $i) { id } }', { i: { url: 'http://example.com/a.png', idempotencyKey: NUL } }],
  ['NUL in a key label', 400, 'VALIDATION', 'label', 'mutation($l: String) { createApiKey(label: $l) { key } }', { l: NUL }],
  ['startTime 0000-01-01 (variable)', 400, 'VALIDATION', 'startTime', 'query($t: DateTime) { mediaItems(startTime: $t) { totalCount } }', { t: '0000-01-01' }],
  ['startTime 0000-01-01 (literal)', 400, 'VALIDATION', 'startTime', 'query { mediaItems(startTime: "0000-01-01") { totalCount } }', {}],
  ['endTime past year 9999', 400, 'VALIDATION', 'endTime', 'query($t: DateTime) { mediaItems(endTime: $t) { totalCount } }', { t: '9999-12-31T23:00:00-05:00' }],
  ['an Int that is not one', 400, 'VALIDATION', 'first', 'query($n: Int) { mediaItems(first: $n) { totalCount } }', { n: 'ten' }],
  ['node(id:) with garbage', 400, 'VALIDATION', 'id', 'query($id: ID!) { node(id: $id) { id } }', { id: 'garbage!!' }],
  ['node(id:) with an unknown type name', 400, 'VALIDATION', 'id', 'query($id: ID!) { node(id: $id) { id } }', { id: encodeGlobalID('Nope', randomUUID()) }],
  ['node(id:) with a type that has no ids', 400, 'VALIDATION', 'id', 'query($id: ID!) { node(id: $id) { id } }', { id: encodeGlobalID('ApiKey', randomUUID()) }],
  ['node(id:) with a bare UUID', 400, 'VALIDATION', 'id', 'query($id: ID!) { node(id: $id) { id } }', { id: randomUUID() }],
  ['node(id:) with a non-UUID record id', 400, 'VALIDATION', 'id', 'query($id: ID!) { node(id: $id) { id } }', { id: encodeGlobalID('MediaItem', '42') }],
];

describe('bad values in operations', () => {
  it.each(operationRows)('%s → %i %s naming %s', async (_name, status, code, field, query, variables) => {
    const res = await gql(gateway, { 'x-api-key': key }, query, variables);
    expect(res.status).toBe(status);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code, field });
    expect(res.body.errors?.[0]?.message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
  });

  it("node(id:) of another account's record answers exactly like a missing one", async () => {
    const created = await postMultipart({
      url: gateway.graphqlUrl,
      headers: { 'x-api-key': key },
      operations: { query: 'mutation($f: Upload!) { uploadMediaItem(input: { file: $f }) { id } }', variables: { f: null } },
      map: { 0: ['variables.f'] },
      files: [{ name: '0', filename: 'mine.bin', size: 100 }],
    });
    const mine = created.body.data.uploadMediaItem.id as string;
    const node = 'query($id: ID!) { node(id: $id) { id } }';
    expect((await gql(gateway, { 'x-api-key': key }, node, { id: mine })).body).toEqual({ data: { node: { id: mine } } });
    const theirs = await gql(gateway, { 'x-api-key': otherKey }, node, { id: mine });
    const missing = await gql(gateway, { 'x-api-key': otherKey }, node, { id: encodeGlobalID('MediaItem', randomUUID()) });
    expect(theirs).toEqual(missing);
    expect(theirs).toEqual({ status: 200, body: { data: { node: null } } });
  });
});

const upload = 'mutation($f: Upload!) { uploadMediaItem(input: { file: $f }) { id } }';
const file = [{ name: '0', filename: 'x.bin', size: 10 }];
type MultipartRow = [name: string, status: number, code: string, field: string, request: Omit<MultipartRequest, 'url' | 'headers'>];

const multipartRows: MultipartRow[] = [
  ['multipart without a boundary', 400, 'VALIDATION', 'multipart', { operations: { query: upload, variables: { f: null } }, map: { 0: ['variables.f'] }, files: file, contentType: 'multipart/form-data' }],
  ['map: null', 400, 'VALIDATION', 'map', { operations: { query: upload, variables: { f: null } }, map: 'null', files: file }],
  ['map that is not JSON', 400, 'VALIDATION', 'map', { operations: { query: upload, variables: { f: null } }, map: '{0:', files: file }],
  ['operations: null', 400, 'VALIDATION', 'operations', { operations: 'null', map: { 0: ['variables.f'] }, files: file }],
  ['an Upload mapped into a String variable', 400, 'VALIDATION', 'map', { operations: { query: 'mutation($f: String) { createApiKey(label: $f) { key } }', variables: { f: null } }, map: { 0: ['variables.f'] }, files: file }],
  ['an Upload variable no argument takes', 400, 'VALIDATION', 'map', { operations: { query: 'mutation($f: Upload, $l: String) { createApiKey(label: $l) { key } }', variables: { f: null } }, map: { 0: ['variables.f'] }, files: file }],
  ['a map path of __proto__.__proto__', 400, 'VALIDATION', 'map', { operations: { query: upload, variables: { f: null } }, map: { 0: ['__proto__.__proto__'] }, files: file }],
  ['a map path through constructor.prototype', 400, 'VALIDATION', 'map', { operations: { query: upload, variables: { f: null } }, map: { 0: ['variables.f.constructor.prototype'] }, files: file }],
  ['a map path into a variable that is not declared', 400, 'VALIDATION', 'map', { operations: { query: upload, variables: { f: null } }, map: { 0: ['variables.g'] }, files: file }],
  ['a file part before map', 400, 'VALIDATION', 'multipart', { operations: { query: upload, variables: { f: null } }, files: file }],
];

describe('bad multipart requests', () => {
  it.each(multipartRows)('%s → %i %s naming %s', async (_name, status, code, field, request) => {
    const res = await postMultipart({ url: gateway.graphqlUrl, headers: { 'x-api-key': key }, ...request });
    expect(res.status).toBe(status);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code, field });
  });

  it('the gateway still takes a good upload afterwards', async () => {
    const res = await postMultipart({ url: gateway.graphqlUrl, headers: { 'x-api-key': key }, operations: { query: upload, variables: { f: null } }, map: { 0: ['variables.f'] }, files: file });
    expect(res.status).toBe(200);
    expect(res.body.data.uploadMediaItem.id).toBeTruthy();
  });
});
