// Cold (empty DATA_DIR: initdb + migrations + first key) and warm (same
// DATA_DIR again) start of `media-gateway all` on embedded PostgreSQL, measured
// from spawn to the first 200 from /readyz, beside a bare graphql-yoga server
// started the same way.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../src/platform/db/embedded.js';
import { projectRoot } from '../src/platform/db/migrate.js';

const root = projectRoot();

async function timeToReady(args: string[], env: Record<string, string>, port: number): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

const bareYoga = `
import { createServer } from 'node:http';
import { createYoga, createSchema } from 'graphql-yoga';
const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { ok: Boolean }', resolvers: { Query: { ok: () => true } } }) });
createServer((req, res) => req.url === '/readyz' ? res.end('ok') : yoga(req, res)).listen(Number(process.env.PORT), '127.0.0.1');
`;

export async function benchStartup(): Promise<{ coldMs: number; warmMs: number; bareYogaMs: number; coldRatio: number; warmRatio: number }> {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-needed.mjs')], { stdio: 'inherit' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-start-'));
  fs.chmodSync(dataDir, 0o755);
  const bareFile = path.join(root, 'dist', 'bare-yoga.mjs');
  fs.writeFileSync(bareFile, bareYoga);
  try {
    const main = path.join(root, 'dist', 'src', 'main.js');
    const env = (port: number) => ({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' });
    let port = await freePort();
    const coldMs = await timeToReady([main, 'all'], env(port), port);
    port = await freePort();
    const warmMs = await timeToReady([main, 'all'], env(port), port);
    port = await freePort();
    const bareYogaMs = await timeToReady([bareFile], { PORT: String(port) }, port);
    return { coldMs, warmMs, bareYogaMs, coldRatio: coldMs / bareYogaMs, warmRatio: warmMs / bareYogaMs };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(bareFile, { force: true });
  }
}

export function printStartup(r: Awaited<ReturnType<typeof benchStartup>>): void {
  console.log('startup to first ready /readyz (embedded PostgreSQL):');
  console.log(`  cold (empty DATA_DIR)  ${r.coldMs.toFixed(0).padStart(6)} ms   x${r.coldRatio.toFixed(1)} bare yoga`);
  console.log(`  warm (existing data)   ${r.warmMs.toFixed(0).padStart(6)} ms   x${r.warmRatio.toFixed(1)} bare yoga`);
  console.log(`  bare graphql-yoga      ${r.bareYogaMs.toFixed(0).padStart(6)} ms`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  printStartup(await benchStartup());
}
