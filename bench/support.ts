// What every bench needs: a scratch database (embedded unless DATABASE_URL is
// set), a gateway on it, and RSS sampling.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { loadConfig } from '../src/platform/config.js';
import { startEmbeddedPostgres } from '../src/platform/db/embedded.js';
import { createLogger } from '../src/platform/logger.js';
import { startRuntime, type Mode, type Runtime } from '../src/app/runtime.js';

export async function scratchDatabase(): Promise<{ url: string; cleanup(): Promise<void> }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-pg-'));
  fs.chmodSync(tmp, 0o755);
  let serverUrl = process.env.DATABASE_URL;
  const embedded = serverUrl ? undefined : await startEmbeddedPostgres(tmp);
  serverUrl ??= embedded!.url;
  const name = `mg_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async cleanup() {
      await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end();
      await embedded?.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export interface BenchGateway {
  runtime: Runtime;
  url: string;
  key: string;
  close(): Promise<void>;
}

/** A gateway (and workers, in 'all') on a scratch database with one account and key. */
export async function startBenchGateway(mode: Mode = 'all', env: Record<string, string> = {}): Promise<BenchGateway> {
  const db = await scratchDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-data-'));
  fs.chmodSync(dataDir, 0o755);
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env });
  const runtime = await startRuntime(config, mode, createLogger(config, process.stderr));
  const { account } = await runtime.services.accounts.ensureAccount('bench');
  const { key } = await runtime.services.accounts.createKey(account.id, 'bench');
  return {
    runtime,
    url: runtime.app?.url ?? '',
    key,
    async close() {
      await runtime.stop();
      await db.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Peak RSS growth (MB) over the value before `work`, sampled every 20 ms, and its wall time. */
export async function measurePeakRss(work: () => Promise<void>): Promise<{ peakDeltaMb: number; seconds: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { peakDeltaMb: (peak - before) / 1024 / 1024, seconds: (performance.now() - started) / 1000 };
}
