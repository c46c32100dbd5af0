// A `serve` process for the events tests; prints its URL as a JSON line. Env: DATABASE_URL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startRuntime } from '../../src/app/runtime.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-child-gateway-'));
const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: process.env.CHILD_LOG_LEVEL ?? 'warn' });
const runtime = await startRuntime(config, 'serve', createLogger(config, process.stderr));
process.stdout.write(JSON.stringify({ event: 'ready', url: runtime.app!.url, pid: process.pid }) + '\n');

process.once('SIGTERM', () => {
  void runtime.stop().finally(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
