// How long after `media-gateway keys revoke` (and after revokeApiKey on another
// gateway) a graphql-ws socket held on a second gateway process is closed.
// Run: node --import tsx bench/revocation-latency.ts [runs]   (embedded PostgreSQL unless DATABASE_URL)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { spawnTs, nowMs } from '../test/support/child-process.js';
import { startBenchGateway } from './support.js';

const runs = Number(process.argv[2] ?? 5);
const root = path.resolve(import.meta.dirname, '..');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Resolves when the CLI has exited; returns when it was started. */
async function cli(args: string[], env: Record<string, string>): Promise<number> {
  const started = nowMs();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), ...args], { cwd: root, env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  await new Promise((resolve) => child.on('close', resolve));
  return started;
}

/** Resolves once connected, with a promise of the close (wrapped: an async function would adopt a bare promise). */
async function openSocket(url: string, key: string): Promise<{ closed: Promise<{ code: number; at: number }> }> {
  let closed!: (c: { code: number; at: number }) => void;
  const done = new Promise<{ code: number; at: number }>((resolve) => (closed = resolve));
  const connected = new Promise<void>((resolve, reject) => {
    void done.then((c) => reject(new Error(`socket closed with ${c.code} before connecting`)));
    createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-api-key': key },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
      on: { connected: () => resolve(), closed: (e) => closed({ code: (e as CloseEvent).code, at: nowMs() }) },
    });
  });
  await connected;
  return { closed: done };
}

const first = await startBenchGateway('serve');
const second = spawnTs('test/support/child-gateway.ts', { DATABASE_URL: first.runtime.database.url });
const secondUrl = (await second.waitFor((m) => m.event === 'ready', 30_000)).url as string;
const { accounts, database } = first.runtime.services;
const { account } = await accounts.ensureAccount('bench');
const fromCommit: number[] = [];
const fromCliStart: number[] = [];
const fromMutation: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const victim = await accounts.createKey(account.id, `cli-${i}`);
    const { closed } = await openSocket(secondUrl, victim.key);
    const started = await cli(['keys', 'revoke', victim.id], { DATABASE_URL: database.url });
    const close = await closed;
    const [{ revokedMs }] = await database.sql<{ revokedMs: number }[]>`select (extract(epoch from revoked_at) * 1000)::float8 as "revokedMs" from api_keys where id = ${victim.id}`;
    if (close.code !== 4403) throw new Error(`closed with ${close.code}`);
    fromCommit.push(close.at - revokedMs);
    fromCliStart.push(close.at - started);

    const other = await accounts.createKey(account.id, `mutation-${i}`);
    const { closed: closedToo } = await openSocket(secondUrl, other.key);
    const res = await fetch(`${first.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': first.key }, body: JSON.stringify({ query: `mutation { revokeApiKey(id: "${other.id}") }` }) });
    const answered = nowMs();
    await res.json();
    fromMutation.push((await closedToo).at - answered);
  }
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (${xs.map((x) => x.toFixed(1)).join(', ')})`;
  console.log(`keys revoke: revoked_at (transaction start) → 4403 on the second gateway: ${fmt(fromCommit)}`);
  console.log(`keys revoke: CLI process start → 4403 on the second gateway:          ${fmt(fromCliStart)}`);
  console.log(`revokeApiKey on the first gateway: response → 4403 on the second:      ${fmt(fromMutation)}`);
} finally {
  await second.kill('SIGTERM');
  await first.close();
}
