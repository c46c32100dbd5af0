// A large media-library upload over the GraphQL multipart spec must not sit in
// memory: peak RSS of the gateway process while it receives, spools and
// stores N MB, beside a baseline of the same bytes POSTed to a bare node:http
// server that discards them (same process, same client).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { measurePeakRss, startBenchGateway } from './support.js';

const MB = 1024 * 1024;

function wavLike(totalBytes: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(256 * 1024, 1);
  return new Readable({
    read() {
      if (sent === 0) Buffer.from('RIFF\0\0\0\0WAVEfmt ').copy(chunk);
      if (sent >= totalBytes) return void this.push(null);
      const size = Math.min(chunk.length, totalBytes - sent);
      sent += size;
      this.push(Buffer.from(chunk.subarray(0, size)));
    },
  });
}

function multipartBody(totalBytes: number, boundary: string): Readable {
  const operations = JSON.stringify({ query: 'mutation($f: Upload!) { uploadMediaItem(input: { file: $f }) { mediaSize } }', variables: { f: null } });
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.f"]}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return Readable.from(
    (async function* () {
      yield head;
      yield* wavLike(totalBytes);
      yield tail;
    })(),
  );
}

function post(url: string, headers: Record<string, string>, body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

export async function benchUploadMemory(totalMb = 200) {
  const boundary = 'mgbench' + Date.now();
  const headers = { 'content-type': `multipart/form-data; boundary=${boundary}` };
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
  const baseline = await measurePeakRss(async () => void (await post(sinkUrl, headers, multipartBody(totalMb * MB, boundary))));
  sink.close();

  const gateway = await startBenchGateway('serve');
  try {
    let answer = '';
    const upload = await measurePeakRss(async () => {
      answer = await post(`${gateway.url}/graphql`, { ...headers, 'x-api-key': gateway.key }, multipartBody(totalMb * MB, boundary));
    });
    const stored = JSON.parse(answer).data?.uploadMediaItem?.mediaSize;
    if (stored !== totalMb * MB) throw new Error(`upload did not store every byte: ${answer.slice(0, 300)}`);
    return { totalMb, baseline, upload, ratio: upload.peakDeltaMb / Math.max(baseline.peakDeltaMb, 1) };
  } finally {
    await gateway.close();
  }
}

export function printUploadMemory(r: Awaited<ReturnType<typeof benchUploadMemory>>): void {
  console.log(`\nmedia library upload of ${r.totalMb} MB over GraphQL multipart (peak RSS growth):`);
  console.log(`  bare http sink        ${r.baseline.peakDeltaMb.toFixed(1).padStart(7)} MB  ${r.baseline.seconds.toFixed(2)} s`);
  console.log(`  uploadMediaItem       ${r.upload.peakDeltaMb.toFixed(1).padStart(7)} MB  ${r.upload.seconds.toFixed(2)} s   x${r.ratio.toFixed(2)} baseline`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  printUploadMemory(await benchUploadMemory(Number(process.env.BENCH_UPLOAD_MB ?? 200)));
}
