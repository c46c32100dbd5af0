import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder } from '../support/cli-gateway.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { postMultipart, type MultipartRequest } from '../support/multipart.js';

const MiB = 1024 * 1024;
// A refused part may already be in socket buffers when the answer goes out; far less than what was offered.
const READ_BOUND = 32 * MiB;

let gateway: TestGateway;
let key: string;
let spool: string;
beforeAll(async () => {
  gateway = await startTestGateway({
    mode: 'serve',
    env: { MAX_FILE_BYTES: String(1 * MiB), MAX_UPLOAD_BYTES: String(4 * MiB), MAX_UPLOAD_FILES: '3', MAX_UPLOAD_REQUEST_BYTES: String(5 * MiB) },
  });
  ({ key } = await gateway.keyFor('uploads'));
  spool = path.join(gateway.config.dataDir, 'spool');
});
afterAll(() => gateway?.close());

const mutation = 'mutation($f: Upload!) { uploadMediaItem(input: { file: $f }) { mimeType mediaSize originalFileName } }';
const uploadFile = 'mutation($f: Upload!) { uploadFile(input: { entityType: SHIPMENT_ITEM, entityId: "1RT823V93|SKU-001|DAMAGED|51076f94-b531-483c-884b-35ad67afa113", file: $f }) { id } }';

async function send(form: FormData) {
  const res = await fetch(gateway.graphqlUrl, { method: 'POST', headers: { 'x-api-key': key }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

const post = (request: Omit<MultipartRequest, 'url' | 'headers'>) => postMultipart({ url: gateway.graphqlUrl, headers: { 'x-api-key': key }, ...request });

async function spoolEmpty(): Promise<string[]> {
  for (let i = 0; i < 100 && filesUnder(spool).length; i++) await new Promise((r) => setTimeout(r, 50));
  return filesUnder(spool);
}

describe('GraphQL multipart requests (spooled to disk, not memory)', () => {
  it('passes a file part to the resolver with its name and every byte', async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    Buffer.from('RIFF\0\0\0\0WAVEfmt ').copy(bytes);
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: mutation, variables: { f: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.f'] }));
    form.set('0', new Blob([bytes]), 'tone.wav');
    const res = await send(form);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.uploadMediaItem).toEqual({ mimeType: 'audio/wav', mediaSize: bytes.length, originalFileName: 'tone.wav' });
    expect(await spoolEmpty()).toEqual([]);
  });

  it.each([
    ['no operations field', () => { const f = new FormData(); f.set('map', '{}'); return f; }],
    ['operations that are not JSON', () => { const f = new FormData(); f.set('operations', '{nope'); f.set('map', '{}'); return f; }],
    ['a map naming a file that was not sent', () => { const f = new FormData(); f.set('operations', JSON.stringify({ query: mutation, variables: { f: null } })); f.set('map', JSON.stringify({ 0: ['variables.f'] })); return f; }],
    ['a map path that does not exist', () => { const f = new FormData(); f.set('operations', JSON.stringify({ query: mutation, variables: { f: null } })); f.set('map', JSON.stringify({ 0: ['variables.nothing.here'] })); f.set('0', new Blob(['x']), 'x.bin'); return f; }],
  ])('%s is a 400 VALIDATION error, not a crash', async (_name, build) => {
    const res = await send(build());
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('VALIDATION');
  });
});

describe('uploads are checked before they are spooled', () => {
  it('file parts no Upload variable takes are refused before they are read (3 × 200 MB for { viewer { id } })', async () => {
    const outcome = await post({
      operations: { query: '{ viewer { id } }' },
      map: {},
      files: [0, 1, 2].map((i) => ({ name: String(i), filename: `junk${i}.bin`, size: 200 * 1000 * 1000 })),
    });
    expect(outcome.status).toBe(400);
    expect(outcome.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION', field: 'map' });
    expect(outcome.sentBytes).toBeLessThan(READ_BOUND);
    expect(await spoolEmpty()).toEqual([]);
  });

  it("uploadFile's part is capped by MAX_FILE_BYTES while it streams: 413 after ~1 MiB of 64, nothing stored", async () => {
    const outcome = await post({ operations: { query: uploadFile, variables: { f: null } }, map: { 0: ['variables.f'] }, files: [{ name: '0', filename: 'big.png', size: 64 * MiB }] });
    expect(outcome.status).toBe(413);
    expect(outcome.body.errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
    expect(outcome.body.errors[0].message).toMatch(/UploadFileInput\.file \(maxFileBytes\)/);
    expect(outcome.sentBytes).toBeLessThan(READ_BOUND);
    expect(await spoolEmpty()).toEqual([]);
  });

  it('each Upload field has its own cap: 2 MiB passes uploadMediaItem (MAX_UPLOAD_BYTES) but not uploadFile (MAX_FILE_BYTES)', async () => {
    const file = [{ name: '0', filename: 'two.bin', size: 2 * MiB }];
    const media = await post({ operations: { query: mutation, variables: { f: null } }, map: { 0: ['variables.f'] }, files: file });
    expect(media.status).toBe(200);
    expect(media.body.data.uploadMediaItem.mediaSize).toBe(2 * MiB);
    const entity = await post({ operations: { query: uploadFile, variables: { f: null } }, map: { 0: ['variables.f'] }, files: file });
    expect(entity.status).toBe(413);
    const tooBig = await post({ operations: { query: mutation, variables: { f: null } }, map: { 0: ['variables.f'] }, files: [{ name: '0', filename: 'five.bin', size: 5 * MiB }] });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.errors[0].message).toMatch(/UploadMediaItemInput\.file \(maxUploadBytes\)/);
    expect(await spoolEmpty()).toEqual([]);
  });

  it('a variable used in two places takes the smaller cap', async () => {
    const both = `mutation($f: Upload!) { a: uploadMediaItem(input: { file: $f }) { id } b: ${uploadFile.slice(uploadFile.indexOf('uploadFile'))}`;
    const outcome = await post({ operations: { query: both, variables: { f: null } }, map: { 0: ['variables.f'] }, files: [{ name: '0', filename: 'two.bin', size: 2 * MiB }] });
    expect(outcome.status).toBe(413);
  });

  it('at most MAX_UPLOAD_FILES files per request, refused from the map alone', async () => {
    const vars = [0, 1, 2, 3];
    const query = `mutation(${vars.map((i) => `$f${i}: Upload!`).join(', ')}) { ${vars.map((i) => `u${i}: uploadMediaItem(input: { file: $f${i} }) { id }`).join(' ')} }`;
    const outcome = await post({
      operations: { query, variables: Object.fromEntries(vars.map((i) => [`f${i}`, null])) },
      map: Object.fromEntries(vars.map((i) => [String(i), [`variables.f${i}`]])),
      files: vars.map((i) => ({ name: String(i), filename: `${i}.bin`, size: 10 * MiB })),
    });
    expect(outcome.status).toBe(413);
    expect(outcome.body.errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
    expect(outcome.body.errors[0].message).toMatch(/MAX_UPLOAD_FILES/);
    expect(outcome.sentBytes).toBeLessThan(READ_BOUND);
  });

  it('all files of a request together are capped by MAX_UPLOAD_REQUEST_BYTES', async () => {
    const query = 'mutation($a: Upload!, $b: Upload!) { a: uploadMediaItem(input: { file: $a }) { id } b: uploadMediaItem(input: { file: $b }) { id } }';
    const outcome = await post({
      operations: { query, variables: { a: null, b: null } },
      map: { 0: ['variables.a'], 1: ['variables.b'] },
      files: [0, 1].map((i) => ({ name: String(i), filename: `${i}.bin`, size: 3 * MiB })),
    });
    expect(outcome.status).toBe(413);
    expect(outcome.body.errors[0].message).toMatch(/MAX_UPLOAD_REQUEST_BYTES/);
    expect(await spoolEmpty()).toEqual([]);
  });

  it('a part is spooled under DATA_DIR/spool while it arrives, and removed when the client goes away', async () => {
    let seen: string[] = [];
    await post({
      operations: { query: mutation, variables: { f: null } },
      map: { 0: ['variables.f'] },
      files: [{ name: '0', filename: 'slow.bin', size: 3 * MiB }],
      abortAfter: 2 * MiB,
      beforeAbort: async () => {
        for (let i = 0; i < 100 && !seen.length; i++) {
          seen = filesUnder(spool);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    });
    expect(seen).toHaveLength(1);
    expect(await spoolEmpty()).toEqual([]);
  });
});
