// The MIME gate between network and storage: refuses early, passes the rest through untouched.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MimeGate } from '../../src/jobs/gate.js';
import { makePng, makeWav } from '../fetch-jobs/fixtures.js';

function chunks(buf: Buffer, size: number, pulled: { n: number }): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (at >= buf.length) return void this.push(null);
      pulled.n += Math.min(size, buf.length - at);
      this.push(buf.subarray(at, (at += size)));
    },
  });
}

async function run(input: Buffer, accepted: string[] | null) {
  const pulled = { n: 0 };
  const out: Buffer[] = [];
  const gate = new MimeGate(accepted);
  const sink = new Writable({ write: (c, _e, done) => (out.push(c), done()) });
  const result = await pipeline(chunks(input, 1000, pulled), gate, sink).then(() => null, (e: unknown) => e);
  return { error: result as { code?: string } | null, output: Buffer.concat(out), pulled: pulled.n, gate };
}

describe('MimeGate', () => {
  it('passes accepted media through byte for byte and reports its sniffed type', async () => {
    const wav = makeWav(50_000);
    const r = await run(wav, ['audio/*']);
    expect(r.error).toBeNull();
    expect(r.output.equals(wav)).toBe(true);
    expect(r.gate).toMatchObject({ mimeType: 'audio/wav', bytes: wav.length });
  });

  it('refuses a wrong type after the first 4 KiB instead of reading it all', async () => {
    const wav = makeWav(500_000);
    const r = await run(wav, ['image/*']);
    expect(r.error?.code).toBe('MIME_NOT_ACCEPTED');
    expect(r.output.length).toBe(0);
    expect(r.pulled).toBeLessThan(64 * 1024);
  });

  it('sniffs files smaller than the sniff window at the end of the stream', async () => {
    const png = await makePng(4, 4);
    const r = await run(png, ['image/png']);
    expect(r.error).toBeNull();
    expect(r.output.equals(png)).toBe(true);
  });
});
