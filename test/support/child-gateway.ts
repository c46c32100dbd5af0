// A `serve` process for the cross-process tests; prints its URL and pid as a
// JSON line. Env: DATABASE_URL, DATA_DIR to share a gateway's data (local
// store, signing secret), and configuration variables passed through.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startRuntime } from '../../src/app/runtime.js';

const ownDataDir = !process.env.DATA_DIR;
const dataDir = process.env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mg-child-gateway-'));
const PASSED = /^(STORAGE_URL$|SIGNING_SECRET$|S3_|FETCH_|WEBHOOK_|MAX_|ALLOW_|PROXY_|RATE_LIMIT_|API_KEY_|EVENT_|JOB_)/;
const passed = Object.fromEntries(Object.entries(process.env).filter(([name]) => PASSED.test(name)));
const config = loadConfig({ ...passed, DATABASE_URL: process.env.DATABASE_URL, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: process.env.CHILD_LOG_LEVEL ?? 'warn' });
const runtime = await startRuntime(config, 'serve', createLogger(config, process.stderr));
process.stdout.write(JSON.stringify({ event: 'ready', url: runtime.app!.url, pid: process.pid }) + '\n');

process.once('SIGTERM', () => {
  void runtime.stop().finally(() => {
    if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
