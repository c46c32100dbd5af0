// The real CLI (`media-gateway all|serve`) as a child process on a test
// database, for tests where the process itself is under test: whether it
// survives, how much memory it takes. Its JSON log lines are kept.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createTestDatabase } from './db.js';
import { tempDir } from './gateway.js';
import { exitCode, runCli, spawnCli } from './cli.js';

export interface CliGateway {
  proc: ChildProcessWithoutNullStreams;
  pid: number;
  url: string;
  graphqlUrl: string;
  dataDir: string;
  key: string;
  /** Parsed JSON log lines (pino) so far. */
  logs: Record<string, any>[];
  alive(): boolean;
  /** A metric's value from /metrics (summed over labels), or undefined when absent. */
  metric(name: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function startCliGateway(mode: 'all' | 'serve', env: Record<string, string> = {}): Promise<CliGateway> {
  const database = await createTestDatabase();
  const dataDir = tempDir('mg-cli-gateway-');
  const baseEnv = { DATABASE_URL: database.url, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ...env };
  const created = await runCli(['keys', 'create', '--account', 'cli-gateway'], baseEnv);
  if (created.code !== 0) throw new Error(`keys create failed: ${created.stderr}`);
  const key = created.stdout.trim().split('\n').at(-1)!;
  const proc = spawnCli([mode], { LOG_LEVEL: 'info', ...baseEnv });
  const logs: Record<string, any>[] = [];
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const started = new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      let entry: Record<string, any>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'started' && entry.url) resolve(entry.url);
    });
    proc.once('exit', (code) => reject(new Error(`gateway exited (${code}) before starting; stderr: ${stderr}`)));
  });
  const url = await started;
  return {
    proc,
    pid: proc.pid!,
    url,
    graphqlUrl: `${url}/graphql`,
    dataDir,
    key,
    logs,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const values = text
        .split('\n')
        .filter((line) => line.startsWith(name) && /^[\w]+(\{[^}]*\})? /.test(line) && line.split(/[{ ]/)[0] === name)
        .map((line) => Number(line.split(' ').at(-1)));
      return values.length ? values.reduce((a, b) => a + b, 0) : undefined;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exitCode(proc);
      }
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Files under `dir` (recursively), or [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}
