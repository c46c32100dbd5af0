// Spawns a TypeScript child (node --import tsx) that reports JSON lines on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export interface ChildMessage {
  event: string;
  [key: string]: any;
}

export interface TsChild {
  proc: ChildProcess;
  messages: ChildMessage[];
  /** Resolves with the first message (past or future) matching; rejects on exit or timeout. */
  waitFor(match: (m: ChildMessage) => boolean, timeoutMs?: number): Promise<ChildMessage>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const root = path.resolve(import.meta.dirname, '../..');

export function spawnTs(script: string, env: Record<string, string>): TsChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, script)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages: ChildMessage[] = [];
  const waiters = new Set<{ match: (m: ChildMessage) => boolean; resolve: (m: ChildMessage) => void }>();
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (process.env.TEST_CHILD_STDERR) process.stderr.write(chunk);
  });
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    let message: ChildMessage;
    try {
      message = JSON.parse(line) as ChildMessage;
    } catch {
      return;
    }
    messages.push(message);
    for (const waiter of waiters) if (waiter.match(message)) waiter.resolve(message);
  });
  // 'close', not 'exit': only then has every line the child wrote been read.
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return {
    proc,
    messages,
    exited,
    waitFor(match, timeoutMs = 15_000) {
      const past = messages.find(match);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (m: ChildMessage) => {
            cleanup();
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`child ${script}: no matching message within ${timeoutMs} ms; stderr:\n${stderr}`));
        }, timeoutMs);
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`child ${script} exited (${code}) before a matching message; got ${JSON.stringify(messages)}; stderr:\n${stderr}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          proc.off('close', onExit);
        };
        waiters.add(waiter);
        proc.once('close', onExit);
      });
    },
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const nowMs = (): number => performance.timeOrigin + performance.now();
