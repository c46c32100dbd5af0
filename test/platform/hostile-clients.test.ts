// What careless clients and attackers send, against the real CLI process
// (`media-gateway all`: gateway and workers in one process): nothing they send
// may end it, and nothing may cost it more than 64 MB of memory.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, startCliGateway, type CliGateway } from '../support/cli-gateway.js';
import { rssGrowthMb } from '../support/memory.js';
import { postMultipart } from '../support/multipart.js';

const MiB = 1024 * 1024;
const RSS_BOUND_MB = 64;

let gateway: CliGateway;
beforeAll(async () => {
  gateway = await startCliGateway('all', { MAX_UPLOAD_BYTES: String(8 * MiB) });
}, 120_000);
afterAll(() => gateway?.stop());

const upload = 'mutation($f: Upload!) { uploadMediaItem(input: { file: $f }) { id mediaSize } }';

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

/** Still serving: health, and a real upload end to end. */
async function expectServing(): Promise<void> {
  expect(gateway.alive()).toBe(true);
  expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  const ok = await postMultipart({ url: gateway.graphqlUrl, headers: { 'x-api-key': gateway.key }, operations: { query: upload, variables: { f: null } }, map: { 0: ['variables.f'] }, files: [{ name: '0', filename: 'ok.bin', size: 1000 }] });
  expect(ok.status).toBe(200);
  expect(ok.body.data.uploadMediaItem.mediaSize).toBe(1000);
}

describe('no request ends the process', () => {
  it('100 uploads the client abandons and 100 truncated ones: still serving, each truncated one answered 400, nothing left in the spool, no unhandled rejection', async () => {
    const request = {
      url: gateway.graphqlUrl,
      headers: { 'x-api-key': gateway.key },
      operations: { query: upload, variables: { f: null } },
      map: { 0: ['variables.f'] },
      files: [{ name: '0', filename: 'big.bin', size: 2 * MiB }],
    };
    const { totalBytes } = await postMultipart({ ...request, truncateAt: 0 });
    // Cut at 100 places spread over the whole body: in the fields, the part headers, the file bytes.
    const cuts = Array.from({ length: 100 }, (_, i) => Math.max(1, Math.floor((totalBytes * (i + 1)) / 102)));
    for (const abortAfter of cuts) {
      const outcome = await postMultipart({ ...request, abortAfter });
      expect(outcome.status, `aborted after ${abortAfter} bytes`).toBeUndefined();
      expect(gateway.alive(), `aborted after ${abortAfter} bytes`).toBe(true);
    }
    for (const truncateAt of cuts) {
      const outcome = await postMultipart({ ...request, truncateAt });
      expect(outcome.status, `truncated at ${truncateAt} bytes`).toBe(400);
      expect(outcome.body.errors[0].extensions.code).toBe('VALIDATION');
    }
    // Refused mid-body, too: parts nobody takes, a part past its field's cap.
    for (let i = 0; i < 20; i++) {
      const unmapped = await postMultipart({ ...request, map: {}, operations: { query: '{ viewer { id } }' } });
      expect(unmapped.status).toBe(400);
      const tooLarge = await postMultipart({ ...request, files: [{ name: '0', filename: 'huge.bin', size: 64 * MiB }] });
      expect(tooLarge.status).toBe(413);
    }
    await expectServing();
    const spool = path.join(gateway.dataDir, 'spool');
    expect(await until(() => filesUnder(spool).length === 0), `left in ${spool}: ${filesUnder(spool).join(', ')}`).toBe(true);
    expect(await gateway.metric('media_gateway_unhandled_rejections_total')).toBe(0);
  }, 120_000);
});

/** A raw WebSocket that announces one huge text frame and streams it; resolves with the close code the server sent (if any) and the bytes written. */
function hugeFrame(url: string, payloadBytes: number): Promise<{ closeCode?: number; sent: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let sent = 0;
    let closeCode: number | undefined;
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ closeCode, sent });
    };
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = buffered.subarray(0, end).toString().startsWith('HTTP/1.1 101');
        buffered = buffered.subarray(end + 4);
        if (!upgraded) return finish();
        void stream();
      }
      // A close frame: 0x88, a short length, then the code.
      if (buffered.length >= 4 && buffered[0] === 0x88) closeCode = buffered.readUInt16BE(2);
    });
    socket.write(
      `GET /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
    );
    async function stream() {
      // FIN + text, masked, 64-bit length, all-zero mask (the payload goes as is).
      const header = Buffer.alloc(14);
      header[0] = 0x81;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(payloadBytes), 2);
      const prefix = Buffer.from('{"type":"connection_init","payload":{"x":"');
      const chunk = Buffer.alloc(MiB, 0x61);
      socket.write(Buffer.concat([header, prefix]));
      sent = prefix.length;
      while (sent < payloadBytes - 3 && !socket.destroyed && closeCode === undefined) {
        const piece = chunk.subarray(0, Math.min(chunk.length, payloadBytes - 3 - sent));
        sent += piece.length;
        if (!socket.write(piece)) await new Promise((ok) => (socket.once('drain', ok), socket.once('close', ok)));
      }
      if (!socket.destroyed && closeCode === undefined) socket.write('"}}');
      // Give the server the time to answer the whole message.
      setTimeout(finish, 2000);
    }
  });
}

/** Streams a body of `bytes` to /graphql as application/json, with or without declaring its length; resolves with the answer. */
function hugeJsonBody(url: string, key: string, bytes: number, declareLength: boolean): Promise<{ status?: number; body?: any }> {
  return postMultipart({
    url,
    declareLength,
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    // Reuse the streaming writer: one "file" of filler inside a JSON string.
    files: [{ name: 'x', filename: 'x', size: bytes }],
  }).then((o) => ({ status: o.status, body: o.body }));
}

describe('limits before memory: each attack costs at most 64 MB of RSS', () => {
  const results: string[] = [];
  afterAll(() => console.log(`RSS growth of the gateway process per attack (bound ${RSS_BOUND_MB} MB):\n  ${results.join('\n  ')}`));

  it('a 256 MiB JSON body to /graphql (streamed without a length, and declared) is refused with 413 LIMIT_EXCEEDED', async () => {
    let streamed: { status?: number; body?: any } = {};
    const growth = await rssGrowthMb(gateway.pid, async () => {
      streamed = await hugeJsonBody(gateway.graphqlUrl, gateway.key, 256 * MiB, false);
    });
    results.push(`256 MiB JSON body, chunked: +${growth} MB (answer ${streamed.status})`);
    expect(streamed.status).toBe(413);
    expect(streamed.body.errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
    expect(growth).toBeLessThanOrEqual(RSS_BOUND_MB);

    let declared: { status?: number; body?: any } = {};
    const declaredGrowth = await rssGrowthMb(gateway.pid, async () => {
      declared = await hugeJsonBody(gateway.graphqlUrl, gateway.key, 256 * MiB, true);
    });
    results.push(`256 MiB JSON body, Content-Length: +${declaredGrowth} MB (answer ${declared.status})`);
    expect(declared.status).toBe(413);
    expect(declaredGrowth).toBeLessThanOrEqual(RSS_BOUND_MB);
    await expectServing();
  }, 120_000);

  it('eight unauthenticated graphql-ws connection_init messages of 95 MB each are closed with 1009', async () => {
    let outcomes: { closeCode?: number; sent: number }[] = [];
    const started = Date.now();
    const growth = await rssGrowthMb(gateway.pid, async () => {
      outcomes = await Promise.all(Array.from({ length: 8 }, () => hugeFrame(gateway.url, 95 * 1000 * 1000)));
    });
    results.push(`8 × 95 MB unauthenticated connection_init: +${growth} MB (close codes ${outcomes.map((o) => o.closeCode).join(',')}; MB sent ${outcomes.map((o) => Math.round(o.sent / 1e6)).join(',')}; ${Date.now() - started} ms)`);
    expect(outcomes.map((o) => o.closeCode)).toEqual(Array(8).fill(1009));
    expect(growth).toBeLessThanOrEqual(RSS_BOUND_MB);
    await expectServing();
  }, 120_000);

  it('a 5-million-deep variable is refused by the body limit (413); the deepest and the widest values that fit in 1 MiB get 400 VALIDATION', async () => {
    const deep = (depth: number) => `{"query":"query($v: String) { mediaItems(search: $v) { totalCount } }","variables":{"v":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const post = (body: string) => fetch(gateway.graphqlUrl, { method: 'POST', headers: { 'x-api-key': gateway.key, 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    let huge: { status: number; body: any } | undefined;
    const hugeGrowth = await rssGrowthMb(gateway.pid, async () => {
      huge = await post(deep(5_000_000));
    });
    results.push(`5 000 000-deep variable (10 MB body): +${hugeGrowth} MB (answer ${huge?.status})`);
    expect(huge?.status).toBe(413);
    expect(hugeGrowth).toBeLessThanOrEqual(RSS_BOUND_MB);

    let fits: { status: number; body: any } | undefined;
    const deepest = Math.floor((MiB - deep(0).length) / 2);
    const fitsGrowth = await rssGrowthMb(gateway.pid, async () => {
      fits = await post(deep(deepest));
    });
    results.push(`${deepest}-deep variable (1 MiB body): +${fitsGrowth} MB (answer ${fits?.status})`);
    expect(fits?.status).toBe(400);
    expect(fits?.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION', field: 'variables' });

    // The widest value that fits: 1 MiB of empty lists, which JSON.parse has to
    // build (no per-list cap on raw bytes could stop lists of lists), then
    // refused by the list length limit.
    const envelope = `{"query":"query($v: [String!]) { inspectUrl(url: \\"http://example.invalid/\\", expectedMimeTypes: $v) { mimeType } }","variables":{"v":[]}}`;
    const items = Math.floor((MiB - envelope.length) / 3);
    const wide = envelope.replace('"v":[]', `"v":[${Array(items).fill('[]').join(',')}]`);
    let widest: { status: number; body: any } | undefined;
    const wideGrowth = await rssGrowthMb(gateway.pid, async () => {
      widest = await post(wide);
    });
    results.push(`${items}-item variable list (1 MiB body): +${wideGrowth} MB (answer ${widest?.status})`);
    expect(widest?.status).toBe(400);
    expect(widest?.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION', field: 'expectedMimeTypes' });
    expect(wideGrowth).toBeLessThanOrEqual(RSS_BOUND_MB);
    expect(fitsGrowth).toBeLessThanOrEqual(RSS_BOUND_MB);
    await expectServing();
  }, 120_000);
});
