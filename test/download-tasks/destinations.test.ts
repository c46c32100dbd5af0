// The allow-list of download destinations: GraphQL and the real CLI
// (`media-gateway destinations add|list|remove`) edit the same entries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { headers } from './helpers.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ mode: 'serve' });
});
afterAll(() => gw?.close());

const listQuery = '{ viewer { storageDestinations { id url type endpoint region } } }';

describe('storage destinations', () => {
  it('the CLI adds, lists and removes entries that GraphQL sees, normalised, per account', async () => {
    const env = { DATABASE_URL: gw.databaseUrl };
    const added = await runCli(['destinations', 'add', '--account', 'dest-cli', 'gcs://Bucket-A/exports', '--endpoint', 'https://storage.example.com', '--region', 'auto'], env);
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim().split('\n').at(-1)!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const { key } = await gw.keyFor('dest-cli');
    const seen = await gql(gw, headers(key), listQuery);
    expect(seen.body.data.viewer.storageDestinations).toEqual([{ id, url: 'gs://bucket-a/exports/', type: 'GS', endpoint: 'https://storage.example.com', region: 'auto' }]);
    const listed = await runCli(['destinations', 'list', '--account', 'dest-cli'], env);
    expect(listed.stdout).toContain('gs://bucket-a/exports/');
    const bad = await runCli(['destinations', 'add', '--account', 'dest-cli', 'ftp://nope/'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown storage scheme');
    const removed = await runCli(['destinations', 'remove', '--account', 'dest-cli', 'gs://bucket-a/exports/'], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await gql(gw, headers(key), listQuery)).body.data.viewer.storageDestinations).toEqual([]);
  }, 60_000);

  it('GraphQL adds (re-adding updates), removes by id, and answers another account\'s id as NOT_FOUND', async () => {
    const { key } = await gw.keyFor('dest-gql');
    const add = (url: string, extra = {}) => gql(gw, headers(key), 'mutation($i: AddStorageDestinationInput!) { addStorageDestination(input: $i) { id url type endpoint } }', { i: { url, ...extra } });
    const first = (await add('s3://media/dl')).body.data.addStorageDestination;
    expect(first).toMatchObject({ url: 's3://media/dl/', type: 'S3', endpoint: null });
    const again = (await add('s3://media/dl/', { endpoint: 'http://minio.local:9000' })).body.data.addStorageDestination;
    expect(again).toMatchObject({ id: first.id, endpoint: 'http://minio.local:9000' });
    const local = await add('file:///var/tmp/x/');
    expect(local.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'url' });
    const other = await gw.keyFor('dest-other');
    const steal = await gql(gw, headers(other.key), 'mutation($id: ID!) { removeStorageDestination(id: $id) }', { id: first.id });
    expect(steal.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const removed = await gql(gw, headers(key), 'mutation($id: ID!) { removeStorageDestination(id: $id) }', { id: first.id });
    expect(removed.body.data.removeStorageDestination).toBe(first.id);
  });
});
