// Enqueue→start latency across processes and commit→subscriber latency over
// graphql-ws, each against a raw pg_notify→LISTEN round trip measured in the same run.
// Uses DATABASE_URL's server (in a scratch database it drops) or embedded PostgreSQL.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import { loadConfig } from '../src/platform/config.js';
import { publishEvent } from '../src/platform/events/publish.js';
import { createLogger } from '../src/platform/logger.js';
import { startRuntime } from '../src/app/runtime.js';
import { scratchDatabase } from './support.js';

const QUEUE = 'bench-echo';
declare module '../src/platform/queue/registry.js' {
  interface QueuePayloads {
    'bench-echo': { key: string };
  }
}

const nowMs = () => performance.timeOrigin + performance.now();

export interface Figures {
  p50: number;
  p99: number;
}
export interface QueueLatencyResult {
  samples: number;
  baselineNotify: Figures;
  enqueueToStart: Figures;
  commitToSubscriber: Figures;
  ratios: { enqueueToStartP50: number; commitToSubscriberP50: number };
}

function figures(values: number[]): Figures {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { p50: round(at(0.5)), p99: round(at(0.99)) };
}
const round = (ms: number) => Math.round(ms * 100) / 100;


async function baseline(url: string, samples: number): Promise<number[]> {
  const listener = postgres(url, { max: 1, onnotice: () => {} });
  const sender = postgres(url, { max: 1, onnotice: () => {} });
  let pending: ((at: number) => void) | undefined;
  await listener.listen('mg_bench_baseline', () => pending?.(nowMs()));
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const received = new Promise<number>((resolve) => (pending = resolve));
    const sent = nowMs();
    await sender`select pg_notify('mg_bench_baseline', ${String(i)})`;
    out.push((await received) - sent);
  }
  await Promise.all([listener.end(), sender.end()]);
  return out;
}

/** Child role: a `work` process whose handler reports when each job starts. */
async function runWorker(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-worker-'));
  const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  const runtime = await startRuntime(config, 'work', createLogger(config, process.stderr));
  await runtime.services.queue.define(QUEUE);
  runtime.services.queue.work(QUEUE, async (payload) => {
    process.stdout.write(JSON.stringify({ key: payload.key, at: nowMs() }) + '\n');
  });
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  process.once('SIGTERM', () => void runtime.stop().finally(() => process.exit(0)));
}

export async function benchQueueLatency(samples = 200): Promise<QueueLatencyResult> {
  const db = await scratchDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-'));
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  const runtime = await startRuntime(config, 'serve', createLogger(config, process.stderr));
  const worker = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, DATABASE_URL: db.url, MG_BENCH_ROLE: 'worker' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const { queue, accounts, database } = runtime.services;
    await queue.define(QUEUE);
    const starts = new Map<string, (at: number) => void>();
    let ready!: () => void;
    const workerReady = new Promise<void>((resolve) => (ready = resolve));
    readline.createInterface({ input: worker.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { ready?: boolean; key?: string; at?: number };
      if (message.ready) ready();
      else starts.get(message.key!)?.(message.at!);
    });
    await workerReady;

    const baselineSamples = await baseline(db.url, samples);

    const enqueue: number[] = [];
    for (let i = 0; i < samples; i++) {
      const key = `job-${i}`;
      const started = new Promise<number>((resolve) => starts.set(key, resolve));
      const sent = nowMs();
      await queue.send(QUEUE, { key });
      enqueue.push((await started) - sent);
    }

    const { account } = await accounts.ensureAccount('bench');
    const { key } = await accounts.createKey(account.id, 'bench');
    const client = createClient({ url: `${runtime.app!.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': key } });
    const arrivals = new Map<string, (at: number) => void>();
    const stop = client.subscribe<{ accountEvents: { id: string } }>(
      { query: 'subscription { accountEvents { id } }' },
      { next: (r) => r.data && arrivals.get(r.data.accountEvents.id)?.(nowMs()), error: () => {}, complete: () => {} },
    );
    const commit = (id: string) => database.db.transaction((tx) => publishEvent(tx, { accountId: account.id, topic: 'bench', type: 'bench', id }));
    // Wait until the subscription is live before timing anything.
    for (let i = 0; ; i++) {
      const heard = new Promise<boolean>((resolve) => {
        arrivals.set(`warmup-${i}`, () => resolve(true));
        setTimeout(() => resolve(false), 100);
      });
      await commit(`warmup-${i}`);
      if (await heard) break;
    }
    const delivered: number[] = [];
    for (let i = 0; i < samples; i++) {
      const id = `event-${i}`;
      const arrived = new Promise<number>((resolve) => arrivals.set(id, resolve));
      const before = nowMs();
      await commit(id);
      delivered.push((await arrived) - before);
    }
    stop();
    await client.dispose();

    const base = figures(baselineSamples);
    const enq = figures(enqueue);
    const sub = figures(delivered);
    return {
      samples,
      baselineNotify: base,
      enqueueToStart: enq,
      commitToSubscriber: sub,
      ratios: { enqueueToStartP50: round(enq.p50 / base.p50), commitToSubscriberP50: round(sub.p50 / base.p50) },
    };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    await runtime.stop();
    await db.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  if (process.env.MG_BENCH_ROLE === 'worker') {
    await runWorker();
  } else {
    const result = await benchQueueLatency(Number(process.env.BENCH_SAMPLES ?? 200));
    console.log(JSON.stringify(result, null, 2));
  }
}
