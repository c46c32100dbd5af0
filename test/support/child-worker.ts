// A `work` process for the queue tests: runs the echo queue (and every real
// job kind) and reports job starts/ends as JSON lines. Env: DATABASE_URL,
// CONCURRENCY, STOP_TIMEOUT_MS, HOLD_MS to make every echo job of this process
// run that long whatever its payload says, DATA_DIR to share a gateway's data
// (local store, signing secret), and configuration variables passed through.
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startRuntime } from '../../src/app/runtime.js';
import { nowMs } from './child-process.js';
import { ECHO_POLICY, ECHO_QUEUE } from './echo-queue.js';

const report = (message: Record<string, unknown>) => process.stdout.write(JSON.stringify(message) + '\n');

const ownDataDir = !process.env.DATA_DIR;
const dataDir = process.env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mg-child-worker-'));
const PASSED = /^(JOB_|SWEEP_|TEMP_|STORAGE_URL$|S3_|FETCH_|WEBHOOK_|MAX_|ALLOW_|PROXY_|IMAGE_)/;
const passed = Object.fromEntries(Object.entries(process.env).filter(([name]) => PASSED.test(name)));
const config = loadConfig({ ...passed, DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: dataDir, LOG_LEVEL: process.env.CHILD_LOG_LEVEL ?? 'warn', WORKER_CONCURRENCY: process.env.CONCURRENCY ?? '8' });
const runtime = await startRuntime(config, 'work', createLogger(config, process.stderr));
const { queue } = runtime.services;
await queue.define(ECHO_QUEUE, ECHO_POLICY);
queue.work(ECHO_QUEUE, async (payload, job) => {
  report({ event: 'start', key: payload.key, id: job.id, retryCount: job.retryCount, at: nowMs() });
  try {
    const ms = Number(process.env.HOLD_MS ?? payload.sleepMs ?? 0);
    if (ms) await sleep(ms, undefined, { signal: job.signal });
  } catch (err) {
    report({ event: 'aborted', key: payload.key, id: job.id, at: nowMs() });
    throw err;
  }
  if (payload.fail) {
    report({ event: 'fail', key: payload.key, id: job.id, retryCount: job.retryCount, at: nowMs() });
    throw new Error(`echo job ${payload.key} failed on purpose`);
  }
  report({ event: 'end', key: payload.key, id: job.id, at: nowMs() });
});
report({ event: 'ready', pid: process.pid, holder: runtime.services.holder.id });

process.once('SIGTERM', () => {
  report({ event: 'stopping', at: nowMs() });
  void (async () => {
    await queue.stop({ timeoutMs: Number(process.env.STOP_TIMEOUT_MS ?? 10_000) });
    await runtime.stop();
    if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    report({ event: 'stopped', at: nowMs() });
    process.exit(0);
  })();
});
