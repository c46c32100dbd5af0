// A fetch job end to end (probe, extractor, stream through the MIME gate into
// storage, MediaItem) against a raw safeFetch of the same URL to /dev/null,
// both in the same run: time and peak RSS growth. The server generates a WAV
// header then filler on the fly, so it holds no copy of the file either.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { safeFetch } from '../src/platform/net/index.js';
import { measurePeakRss, startBenchGateway } from './support.js';

const MB = 1024 * 1024;

function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(Math.min(36 + dataBytes, 0xffffffff), 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(44100, 24);
  h.writeUInt32LE(44100 * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(Math.min(dataBytes, 0xffffffff), 40);
  return h;
}

/** Serves GET /<bytes>.wav (Range-aware for the probe) without ever holding the file. */
export async function mediaServer(): Promise<{ url(total: number): string; close(): Promise<void> }> {
  const filler = Buffer.alloc(256 * 1024, 0x11);
  const server = http.createServer((req, res) => {
    const total = Number(/^\/(\d+)\.wav$/.exec(req.url ?? '')?.[1] ?? 0);
    const header = wavHeader(total - 44);
    const range = /^bytes=0-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const end = Math.min(Number(range[1]), total - 1);
      const body = Buffer.concat([header, filler]).subarray(0, end + 1);
      res.writeHead(206, { 'content-type': 'audio/wav', 'content-range': `bytes 0-${end}/${total}`, 'content-length': body.length }).end(body);
      return;
    }
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': total });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const chunk = sent === 0 ? header : filler.subarray(0, Math.min(filler.length, total - sent));
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: (total) => `http://127.0.0.1:${port}/${total}.wav`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface FetchIngestResult {
  sizeMb: number;
  raw: { seconds: number; peakDeltaMb: number; mbPerSecond: number };
  job: { seconds: number; peakDeltaMb: number; mbPerSecond: number; status: string };
  ratios: { time: number; peakRss: number };
}

export async function benchFetchIngest(sizeMb = 500): Promise<FetchIngestResult> {
  const total = sizeMb * MB;
  const source = await mediaServer();
  const gw = await startBenchGateway('all', { FETCH_ALLOW_NETWORKS: '127.0.0.0/8', MAX_FETCH_BYTES: String(total * 2) });
  const { fetchJobs, accounts } = gw.runtime.services;
  const { account } = await accounts.ensureAccount('bench');
  const rawDownload = async (bytes: number) => {
    const res = await safeFetch(source.url(bytes), { policy: { allowNetworks: ['127.0.0.0/8'] } });
    res.assertOk();
    await pipeline(res.body, fs.createWriteStream('/dev/null'));
  };
  const fetchJob = async (bytes: number) => {
    const created = await fetchJobs.create(account.id, { url: source.url(bytes) });
    for (;;) {
      const row = await fetchJobs.get(account.id, created.id);
      if (row!.status === 'SUCCESS' || row!.status === 'FAILED') return row!.status;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    // Warm both paths first (module loading, pools, JIT), so neither pays start-up costs in its figures.
    await rawDownload(16 * MB);
    await fetchJob(16 * MB);
    const raw = await measurePeakRss(() => rawDownload(total));
    let status = 'PENDING';
    const job = await measurePeakRss(async () => {
      status = await fetchJob(total);
    });
    const rate = (s: number) => Math.round((sizeMb / s) * 10) / 10;
    const r2 = (n: number) => Math.round(n * 100) / 100;
    return {
      sizeMb,
      raw: { seconds: r2(raw.seconds), peakDeltaMb: r2(raw.peakDeltaMb), mbPerSecond: rate(raw.seconds) },
      job: { seconds: r2(job.seconds), peakDeltaMb: r2(job.peakDeltaMb), mbPerSecond: rate(job.seconds), status },
      ratios: { time: r2(job.seconds / raw.seconds), peakRss: r2(Math.max(job.peakDeltaMb, 1) / Math.max(raw.peakDeltaMb, 1)) },
    };
  } finally {
    await gw.close();
    await source.close();
  }
}

export function printFetchIngest(r: FetchIngestResult): void {
  console.log(`\nfetch ingest of ${r.sizeMb} MB (job end to end vs raw safeFetch to /dev/null):`);
  console.log(JSON.stringify(r, null, 2));
}
