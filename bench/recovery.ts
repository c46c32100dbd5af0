// `npm run bench -- recovery`: how long a fetch job stays stuck after its
// `work` process is SIGKILLed mid-download, with the default liveness settings
// (JOB_HEARTBEAT_SECONDS 3, JOB_STALE_SECONDS 30). Two work processes share a
// scratch database and a local store with a serve process; each run kills the
// one holding the job and times until the job's lease names the other one
// (the job is running again), then waits for SUCCESS and starts a replacement.
// Before leases the same wait was the queue's expiry: one hour.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../src/platform/config.js';
import { createLogger } from '../src/platform/logger.js';
import { startRuntime } from '../src/app/runtime.js';
import { scratchDatabase } from './support.js';

const MB = 1024 * 1024;
const MEDIA_BYTES = 4 * MB;
const STALL_AFTER = MB;
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RecoveryResult {
  runs: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  heartbeatSeconds: number;
  staleSeconds: number;
}

function wav(bytes: number): Buffer {
  const body = Buffer.alloc(bytes, 0x11);
  body.write('RIFF', 0);
  body.writeUInt32LE(bytes - 8, 4);
  body.write('WAVEfmt ', 8);
  body.writeUInt32LE(16, 16);
  body.writeUInt16LE(1, 20);
  body.writeUInt16LE(1, 22);
  body.writeUInt32LE(8000, 24);
  body.writeUInt32LE(16000, 28);
  body.writeUInt16LE(2, 32);
  body.writeUInt16LE(16, 34);
  body.write('data', 36);
  body.writeUInt32LE(bytes - 44, 40);
  return body;
}

/** GET /<n>.wav: ranged probes answered; the first whole download of each path stalls after 1 MiB. */
async function slowMediaServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const media = wav(MEDIA_BYTES);
  const downloads = new Map<string, number>();
  const stalled = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : MEDIA_BYTES - 1, MEDIA_BYTES - 1);
      res.writeHead(206, { 'content-type': 'audio/wav', 'content-range': `bytes ${start}-${end}/${MEDIA_BYTES}`, 'content-length': end - start + 1 });
      return void res.end(media.subarray(start, end + 1));
    }
    const seen = (downloads.get(req.url!) ?? 0) + 1;
    downloads.set(req.url!, seen);
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': MEDIA_BYTES });
    if (seen > 1) return void res.end(media);
    res.write(media.subarray(0, STALL_AFTER));
    stalled.add(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface Worker {
  proc: ChildProcess;
  holder: string;
  readyAt: number;
}

function spawnWorker(env: Record<string, string>): Promise<Worker> {
  const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, MG_BENCH_ROLE: 'recovery-worker' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`bench worker exited (${code}) before it was ready`)));
    readline.createInterface({ input: proc.stdout! }).once('line', (line) => {
      resolve({ proc, holder: (JSON.parse(line) as { holder: string }).holder, readyAt: nowMs() });
    });
  });
}

/** Child role: a `work` process on the shared database and data directory. */
async function runWorker(): Promise<void> {
  const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: process.env.DATA_DIR, FETCH_ALLOW_NETWORKS: '127.0.0.0/8', LOG_LEVEL: 'warn' });
  const runtime = await startRuntime(config, 'work', createLogger(config, process.stderr));
  process.stdout.write(JSON.stringify({ holder: runtime.services.holder.id }) + '\n');
  process.once('SIGTERM', () => void runtime.stop().finally(() => process.exit(0)));
}

export async function benchRecovery(runs = 5): Promise<RecoveryResult> {
  const db = await scratchDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-recovery-'));
  fs.chmodSync(dataDir, 0o755);
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, FETCH_ALLOW_NETWORKS: '127.0.0.0/8', LOG_LEVEL: 'warn' });
  const runtime = await startRuntime(config, 'serve', createLogger(config, process.stderr));
  const media = await slowMediaServer();
  const env = { DATABASE_URL: db.url, DATA_DIR: dataDir };
  const workers: Worker[] = [];
  try {
    const { accounts, fetchJobs, database } = runtime.services;
    const { account } = await accounts.ensureAccount('bench');
    workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env)])));
    const leaseOf = async (fetchJobId: string) => {
      const [row] = await database.sql<{ holder_id: string }[]>`
        select l.holder_id from pgboss.job j join job_leases l on l.job_id = j.id
        where j.name = 'fetch-job' and j.data->>'fetchJobId' = ${fetchJobId}`;
      return row?.holder_id;
    };
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      // A newly started worker reaps only after beating for two heartbeats; let both be settled in.
      const settled = Math.max(...workers.map((w) => w.readyAt)) + 2 * config.liveness.heartbeatSeconds * 1000 + 500;
      if (nowMs() < settled) await sleep(settled - nowMs());
      const job = await fetchJobs.create(account.id, { url: `${media.origin}/run-${run}.wav` });
      let holder: string | undefined;
      while (!holder) {
        const [row] = await database.sql<{ bytes_received: number }[]>`select bytes_received from fetch_jobs where id = ${job.id}`;
        if (row && row.bytes_received >= STALL_AFTER) holder = await leaseOf(job.id);
        else await sleep(20);
      }
      const doomed = workers.find((w) => w.holder === holder)!;
      const killed = nowMs();
      doomed.proc.kill('SIGKILL');
      let now = holder;
      while (now === holder || now === undefined) {
        await sleep(20);
        now = await leaseOf(job.id);
      }
      samples.push(nowMs() - killed);
      console.error(`recovery run ${run + 1}: ${(nowMs() - killed).toFixed(0)} ms`);
      for (;;) {
        const [row] = await database.sql<{ status: string }[]>`select status from fetch_jobs where id = ${job.id}`;
        if (row!.status === 'SUCCESS') break;
        if (row!.status === 'FAILED') throw new Error(`fetch job ${job.id} failed after the kill`);
        await sleep(50);
      }
      workers.splice(workers.indexOf(doomed), 1, await spawnWorker(env));
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms);
    return {
      runs: samples.map(round),
      medianMs: round(sorted[Math.floor(sorted.length / 2)]!),
      minMs: round(sorted[0]!),
      maxMs: round(sorted.at(-1)!),
      heartbeatSeconds: config.liveness.heartbeatSeconds,
      staleSeconds: config.liveness.staleSeconds,
    };
  } finally {
    for (const w of workers) w.proc.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.proc.exitCode === null ? new Promise((resolve) => w.proc.once('exit', resolve)) : undefined)));
    await media.close();
    await runtime.stop();
    await db.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printRecovery(r: RecoveryResult): void {
  console.log(`\nrecovery after SIGKILL of a worker mid-download (JOB_HEARTBEAT_SECONDS ${r.heartbeatSeconds}, JOB_STALE_SECONDS ${r.staleSeconds}):`);
  console.log(`  runs ${r.runs.join(', ')} ms → median ${r.medianMs} ms (min ${r.minMs}, max ${r.maxMs}); before leases: the queue's expiry, 3600000 ms`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href && process.env.MG_BENCH_ROLE === 'recovery-worker') {
  await runWorker();
}
