// Commit → event at many graphql-ws subscribers: one gateway with 1,000
// subscribers, and two gateways with 500 each, against a bare graphql-yoga
// server fanning an in-memory publish out to the same number of clients.
// Gateways run as child processes (as in production); the subscribers live in
// this process, so client-side cost is the same for ours and the baseline.
import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../src/platform/config.js';
import { createLogger } from '../src/platform/logger.js';
import { startRuntime } from '../src/app/runtime.js';
import { createServices } from '../src/app/services.js';
import { openDatabase } from '../src/platform/db/open.js';
import { publishEvent } from '../src/platform/events/publish.js';
import { createMetrics } from '../src/platform/http/metrics.js';
import { scratchDatabase } from './support.js';

const nowMs = () => performance.timeOrigin + performance.now();
const EVENTS = Number(process.env.BENCH_FANOUT_EVENTS ?? 30);

export interface Percentiles {
  p50: number;
  p99: number;
}
export interface FanoutRow {
  shape: string;
  subscribers: number;
  ours: Percentiles;
  baseline: Percentiles;
  ratioP99: number;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { p50: round(at(0.5)), p99: round(at(0.99)) };
}

/** Child role: a production `serve` process. */
async function runGateway(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-bench-fanout-'));
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    SIGNING_SECRET: process.env.SIGNING_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    MAX_SOCKETS_PER_KEY: '2000',
    // One key stands for 1,000 browsers here; the per-key limits would otherwise (rightly) refuse them.
    RATE_LIMIT_SOCKET_OPS_PER_SECOND: '100000',
    RATE_LIMIT_SOCKET_OPS_BURST: '100000',
  });
  const runtime = await startRuntime(config, 'serve', createLogger(config, process.stderr));
  process.stdout.write(JSON.stringify({ url: runtime.app!.url }) + '\n');
  process.once('SIGTERM', () => void runtime.stop().finally(() => process.exit(0)));
}

/** Child role: the baseline, graphql-yoga + graphql-ws with an in-memory publish on POST /publish. */
async function runBareYoga(): Promise<void> {
  const pubsub = createPubSub<{ tick: [string] }>();
  const schema = createSchema({
    typeDefs: 'type Query { ok: Boolean } type Subscription { tick: String }',
    resolvers: { Subscription: { tick: { subscribe: () => pubsub.subscribe('tick'), resolve: (id: string) => id } } },
  });
  const yoga = createYoga({ schema, logging: false });
  setMaxListeners(0);
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/publish')) {
      pubsub.publish('tick', new URL(req.url, 'http://x').searchParams.get('id')!);
      res.end('ok');
    } else void yoga.handle(req, res);
  });
  const wss = new WebSocketServer({ server, path: '/graphql' });
  useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
        const args = { schema: s, operationName: params.operationName, document: parse(params.query), variableValues: params.variables, contextValue: await contextFactory(), rootValue: { execute, subscribe } };
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
  process.once('SIGTERM', () => process.exit(0));
}

async function spawnRole(role: string, env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, MG_BENCH_ROLE: role },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
  return { url: (JSON.parse(line) as { url: string }).url, child };
}

/**
 * `count` sockets speaking graphql-transport-ws by hand: the arrival time is taken
 * before any parsing, so the figure is the server's fan-out, not client overhead.
 */
async function subscribeMany(url: string, count: number, query: string, connectionParams: Record<string, string>, heard: (id: string, at: number) => void): Promise<WebSocket[]> {
  const idPattern = /"((?:warmup|event)-\d+)"/;
  return Promise.all(
    Array.from({ length: count }, (_, n) => new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      socket.once('error', reject);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
      socket.on('message', (raw: Buffer) => {
        const at = nowMs();
        const text = raw.toString();
        const id = idPattern.exec(text)?.[1];
        if (id) return heard(id, at);
        if (text.includes('"connection_ack"')) {
          socket.send(JSON.stringify({ id: String(n), type: 'subscribe', payload: { query } }));
          resolve(socket);
        } else if (text.includes('"error"')) console.error('subscriber error', text);
      });
    })),
  );
}

/**
 * Fires `EVENTS` events one after another; each waits until every subscriber has it.
 * Returns one latency per (subscriber, event). Warm-up events are fired until all hear one.
 */
async function measure(subscribers: number, fire: (id: string) => Promise<void>, arrivals: Map<string, number[]>): Promise<number[]> {
  const waitAll = async (id: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while ((arrivals.get(id)?.length ?? 0) < subscribers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    return (arrivals.get(id)?.length ?? 0) >= subscribers;
  };
  for (let i = 0; ; i++) {
    await fire(`warmup-${i}`);
    if (await waitAll(`warmup-${i}`, 500)) break;
    if (i > 200) throw new Error(`subscribers never all connected (${arrivals.get(`warmup-${i}`)?.length ?? 0}/${subscribers})`);
  }
  const latencies: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const id = `event-${i}`;
    const before = nowMs();
    await fire(id);
    if (!(await waitAll(id, 10_000))) throw new Error(`event ${id} reached ${arrivals.get(id)?.length ?? 0}/${subscribers}`);
    latencies.push(...arrivals.get(id)!.map((at) => at - before));
    await new Promise((r) => setTimeout(r, 20));
  }
  return latencies;
}

async function ours(gateways: number, perGateway: number): Promise<Percentiles> {
  const db = await scratchDatabase();
  const children: ChildProcess[] = [];
  const clients: WebSocket[] = [];
  try {
    // Migrate and make the account with the first gateway, then start the rest.
    const env = { DATABASE_URL: db.url, SIGNING_SECRET: 'bench-fanout-signing-secret-0123456789' };
    const started = [await spawnRole('gateway', env)];
    for (let g = 1; g < gateways; g++) started.push(await spawnRole('gateway', env));
    children.push(...started.map((s) => s.child));
    const config = loadConfig({ DATABASE_URL: db.url, DATA_DIR: os.tmpdir(), LOG_LEVEL: 'warn', SIGNING_SECRET: env.SIGNING_SECRET });
    const database = await openDatabase(config);
    const services = createServices({ config, database, logger: createLogger(config, process.stderr), metrics: createMetrics(), mode: 'bench' });
    const { account } = await services.accounts.ensureAccount('bench');
    const { key } = await services.accounts.createKey(account.id, 'bench');
    const arrivals = new Map<string, number[]>();
    const heard = (id: string, at: number) => void (arrivals.get(id) ?? arrivals.set(id, []).get(id)!).push(at);
    for (const { url } of started) {
      clients.push(...(await subscribeMany(url, perGateway, 'subscription { accountEvents { id } }', { 'x-api-key': key }, heard)));
    }
    const fire = (id: string) => database.db.transaction((tx) => publishEvent(tx, { accountId: account.id, topic: 'bench', type: 'bench', id }));
    const latencies = await measure(gateways * perGateway, fire, arrivals);
    await database.close();
    return percentiles(latencies);
  } finally {
    for (const c of clients) c.terminate();
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)))));
    await db.cleanup();
  }
}

async function bareYoga(subscribers: number): Promise<Percentiles> {
  const { url, child } = await spawnRole('bare-yoga');
  const arrivals = new Map<string, number[]>();
  const clients = await subscribeMany(url, subscribers, 'subscription { tick }', {}, (id, at) => void (arrivals.get(id) ?? arrivals.set(id, []).get(id)!).push(at));
  try {
    const agent = new http.Agent({ keepAlive: true });
    const fire = (id: string) =>
      new Promise<void>((resolve, reject) => http.get(`${url}/publish?id=${id}`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    return percentiles(await measure(subscribers, fire, arrivals));
  } finally {
    for (const c of clients) c.terminate();
    child.kill('SIGTERM');
  }
}

export async function benchFanout(): Promise<FanoutRow[]> {
  const rows: FanoutRow[] = [];
  const baseline = await bareYoga(1000);
  for (const [shape, gateways, per] of [['1 gateway × 1,000', 1, 1000], ['2 gateways × 500', 2, 500]] as const) {
    const result = await ours(gateways, per);
    rows.push({ shape, subscribers: gateways * per, ours: result, baseline, ratioP99: Math.round((result.p99 / baseline.p99) * 100) / 100 });
  }
  return rows;
}

export function printFanout(rows: FanoutRow[]): void {
  console.log(`\ncommit → event at graphql-ws subscribers (ms, ${EVENTS} events each; baseline: bare graphql-yoga in-memory publish to 1,000):`);
  console.table(rows.map((r) => ({ shape: r.shape, 'p50 ours': r.ours.p50, 'p99 ours': r.ours.p99, 'p50 bare yoga': r.baseline.p50, 'p99 bare yoga': r.baseline.p99, 'p99 ratio': r.ratioP99, 'goal p99': '≤ 50 ms' })));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  if (process.env.MG_BENCH_ROLE === 'gateway') await runGateway();
  else if (process.env.MG_BENCH_ROLE === 'bare-yoga') await runBareYoga();
  else printFanout(await benchFanout());
}
