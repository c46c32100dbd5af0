import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
let key: string;
beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve' });
  ({ key } = await gateway.keyFor('uploads'));
});
afterAll(() => gateway?.close());

const mutation = 'mutation($f: Upload!) { uploadMediaItem(input: { file: $f }) { mimeType mediaSize originalFileName } }';

async function send(form: FormData) {
  const res = await fetch(gateway.graphqlUrl, { method: 'POST', headers: { 'x-api-key': key }, body: form });
  return { status: res.status, body: (await res.json()) as any };
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
