// Jobs sent here run in separate `work` processes: fast start, concurrency,
// retries with backoff into the dead-letter queue, and hand-back on SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs, nowMs, type TsChild } from '../../support/child-process.js';
import { ECHO_POLICY, ECHO_QUEUE } from '../../support/echo-queue.js';
import { startTestGateway, type TestGateway } from '../../support/gateway.js';

let gateway: TestGateway;
const children: TsChild[] = [];

function startWorker(env: Record<string, string> = {}): TsChild {
  const child = spawnTs('test/support/child-worker.ts', { DATABASE_URL: gateway.databaseUrl, ...env });
  children.push(child);
  return child;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

beforeAll(async () => {
  // This process only sends, like a gateway.
  gateway = await startTestGateway({ mode: 'serve' });
  await gateway.runtime.services.queue.define(ECHO_QUEUE, ECHO_POLICY);
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
  await gateway?.close();
});

describe('queue across processes', () => {
  let worker: TsChild;

  beforeAll(async () => {
    worker = startWorker({ CONCURRENCY: '4' });
    await worker.waitFor((m) => m.event === 'ready', 30_000);
  });

  it('starts a job in another process within milliseconds of sending it', async () => {
    const { queue } = gateway.runtime.services;
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const key = `latency-${i}`;
      const sent = nowMs();
      await queue.send(ECHO_QUEUE, { key });
      const started = await worker.waitFor((m) => m.event === 'start' && m.key === key, 5000);
      latencies.push(started.at - sent);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`enqueue→start across processes over ${sorted.length} jobs: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`);
    for (const latency of latencies) expect(latency).toBeLessThan(1000);
  });

  it('runs several jobs of one worker at the same time', async () => {
    const { queue } = gateway.runtime.services;
    const keys = [0, 1, 2, 3].map((i) => `overlap-${i}`);
    for (const key of keys) await queue.send(ECHO_QUEUE, { key, sleepMs: 600 });
    const ends = await Promise.all(keys.map((key) => worker.waitFor((m) => m.event === 'end' && m.key === key)));
    const starts = keys.map((key) => worker.messages.find((m) => m.event === 'start' && m.key === key)!);
    // All four were running together: every start precedes every end.
    expect(Math.max(...starts.map((s) => s.at))).toBeLessThan(Math.min(...ends.map((e) => e.at)));
  });

  it('retries a failing job with growing delays, then dead-letters it', async () => {
    const { queue, database } = gateway.runtime.services;
    const key = 'always-fails';
    const id = await queue.send(ECHO_QUEUE, { key, fail: true });
    const attempts = [];
    for (const retryCount of [0, 1, 2]) attempts.push(await worker.waitFor((m) => m.event === 'start' && m.key === key && m.retryCount === retryCount, 15_000));
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    console.log(`retry gaps: ${gaps.map((g) => g.toFixed(0)).join(' ms, ')} ms (retryDelay 1 s, backoff)`);
    // pg-boss backoff: the n-th retry waits retryDelay * 2^(n-1) * (1 + jitter).
    expect(gaps[0]).toBeGreaterThanOrEqual(1000 - 50);
    expect(gaps[1]).toBeGreaterThanOrEqual(2000 - 50);

    let deadLetters: { data: { key: string } }[] = [];
    for (let i = 0; i < 100 && deadLetters.length === 0; i++) {
      deadLetters = await database.sql`select data from pgboss.job where name = ${`${ECHO_QUEUE}-dlq`} and data->>'key' = ${key}`;
      if (!deadLetters.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(deadLetters).toHaveLength(1);
    const [original] = await database.sql<{ state: string; retry_count: number; output: { message: string } }[]>`select state, retry_count, output from pgboss.job where id = ${id!}`;
    expect(original).toMatchObject({ state: 'failed', retry_count: 2, output: { message: `echo job ${key} failed on purpose` } });
    expect(worker.messages.filter((m) => m.event === 'start' && m.key === key)).toHaveLength(3);
  });

  it('hands a running job back on SIGTERM so another worker finishes it promptly', async () => {
    const { queue, database } = gateway.runtime.services;
    const key = 'handed-back';
    // Holds its jobs far longer than the test runs, so only the hand-back can finish them.
    const stopping = startWorker({ CONCURRENCY: '2', STOP_TIMEOUT_MS: '200', HOLD_MS: '60000' });
    await stopping.waitFor((m) => m.event === 'ready', 30_000);
    // Only `stopping` may take it: park the long-lived worker first.
    await worker.kill('SIGTERM');
    const id = await queue.send(ECHO_QUEUE, { key, sleepMs: 300 });
    await stopping.waitFor((m) => m.event === 'start' && m.key === key);
    const successor = startWorker({ CONCURRENCY: '2' });
    await successor.waitFor((m) => m.event === 'ready', 30_000);

    const signalled = nowMs();
    stopping.proc.kill('SIGTERM');
    await stopping.waitFor((m) => m.event === 'aborted' && m.key === key);
    expect(await stopping.exited).toBe(0);
    const restarted = await successor.waitFor((m) => m.event === 'start' && m.key === key);
    console.log(`SIGTERM→restart in another worker: ${(restarted.at - signalled).toFixed(0)} ms (stop timeout 200 ms)`);
    expect(restarted.at - signalled).toBeLessThan(3000);
    // The hand-back did not use up a retry.
    expect(restarted.retryCount).toBe(0);
    await successor.waitFor((m) => m.event === 'end' && m.key === key);
    for (let i = 0; i < 100; i++) {
      const [row] = await database.sql<{ state: string }[]>`select state from pgboss.job where id = ${id!}`;
      if (row?.state === 'completed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const [row] = await database.sql<{ state: string; retry_count: number }[]>`select state, retry_count from pgboss.job where id = ${id!}`;
    expect(row).toEqual({ state: 'completed', retry_count: 0 });
  });
});
