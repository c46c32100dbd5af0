// A worker that dies (SIGKILL) or hangs (SIGSTOP) mid-job: its jobs go to
// another `work` process within seconds instead of at pg-boss's expiry, use no
// retry, and a hung worker that wakes up stops its copy rather than finish it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowMs, spawnTs, type ChildMessage, type TsChild } from '../../support/child-process.js';
import { ECHO_POLICY, ECHO_QUEUE } from '../../support/echo-queue.js';
import { startTestGateway, type TestGateway } from '../../support/gateway.js';

// Beats every second; a hung process is stale after 3 s (the production defaults are 3 s and 30 s).
const LIVENESS = { JOB_HEARTBEAT_SECONDS: '1', JOB_STALE_SECONDS: '3' };

let gateway: TestGateway;
const children: TsChild[] = [];

async function startWorker(env: Record<string, string> = {}): Promise<TsChild> {
  const child = spawnTs('test/support/child-worker.ts', { DATABASE_URL: gateway.databaseUrl, STOP_TIMEOUT_MS: '200', ...LIVENESS, ...env });
  children.push(child);
  await child.waitFor((m) => m.event === 'ready', 30_000);
  return child;
}

const startOf = (key: string) => (m: ChildMessage) => m.event === 'start' && m.key === key;

async function jobRow(id: string) {
  const [row] = await gateway.runtime.database.sql<{ state: string; retry_count: number }[]>`select state, retry_count from pgboss.job where id = ${id}`;
  return row;
}

async function waitForState(id: string, state: string) {
  for (let i = 0; i < 200; i++) {
    const row = await jobRow(id);
    if (row?.state === state) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} never reached ${state}; last ${JSON.stringify(await jobRow(id))}`);
}

beforeAll(async () => {
  // This process only sends, like a gateway.
  gateway = await startTestGateway({ mode: 'serve', env: LIVENESS });
  await gateway.runtime.services.queue.define(ECHO_QUEUE, ECHO_POLICY);
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
  await gateway?.close();
});

/** Starts `first` alone so it takes the job, then a second worker to take over from it. */
async function firstTakesJob(key: string, env: Record<string, string> = {}) {
  // Workers left by an earlier test would race for the job.
  await Promise.all(children.map((c) => c.kill('SIGTERM')));
  // Holds every job for ten minutes: only a hand-back can finish this one.
  const first = await startWorker({ ...env, CONCURRENCY: '1', HOLD_MS: '600000' });
  const id = (await gateway.runtime.services.queue.send(ECHO_QUEUE, { key, sleepMs: 100 }))!;
  await first.waitFor(startOf(key));
  const second = await startWorker({ ...env, CONCURRENCY: '1' });
  return { id, first, second, firstHolder: first.messages.find((m) => m.event === 'ready')!.holder as string };
}

// Child processes start slowly on a loaded machine: generous limits, no speed asserted but the 30 s bound.
describe('a worker that dies mid-job', { timeout: 120_000 }, () => {
  it("has its job running on another worker within seconds of a SIGKILL, without using a retry", async () => {
    const { database } = gateway.runtime.services;
    const key = 'killed-mid-job';
    const { id, first: doomed, second: successor, firstHolder } = await firstTakesJob(key);
    const [lease] = await database.sql<{ holder_id: string }[]>`select holder_id from job_leases where job_id = ${id}`;
    expect(lease?.holder_id).toBe(firstHolder);

    const killed = nowMs();
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    // Before the fix this waited for the queue's expiry (60 s here, an hour for downloads).
    const restarted = await successor.waitFor(startOf(key), 30_000);
    const recoveryMs = restarted.at - killed;
    console.log(`SIGKILL → job running on another worker: ${recoveryMs.toFixed(0)} ms (heartbeat 1 s)`);
    expect(recoveryMs).toBeLessThan(30_000);
    expect(restarted.retryCount).toBe(0);
    await successor.waitFor((m) => m.event === 'end' && m.key === key);
    expect(await waitForState(id, 'completed')).toEqual({ state: 'completed', retry_count: 0 });
    // The dead process is no longer listed as alive, and holds nothing.
    expect(await database.sql`select 1 from lease_holders where id = ${firstHolder}`).toHaveLength(0);
    expect(await database.sql`select 1 from job_leases`).toHaveLength(0);
  });

  it("hands a hung worker's job on after JOB_STALE_SECONDS; the worker stops its copy when it wakes", async () => {
    const key = 'hung-mid-job';
    const { id, first: frozen, second: successor, firstHolder } = await firstTakesJob(key);

    // Its database session stays open, so only the missing heartbeats tell.
    frozen.proc.kill('SIGSTOP');
    const restarted = await successor.waitFor(startOf(key), 30_000);
    expect(restarted.retryCount).toBe(0);
    await successor.waitFor((m) => m.event === 'end' && m.key === key);
    frozen.proc.kill('SIGCONT');
    // It wakes, learns it was presumed dead, and aborts its copy instead of completing it.
    await frozen.waitFor((m) => m.event === 'aborted' && m.key === key, 15_000);
    expect(frozen.messages.some((m) => m.event === 'end' && m.key === key)).toBe(false);
    expect(await waitForState(id, 'completed')).toEqual({ state: 'completed', retry_count: 0 });
    // And it is registered again, to work on.
    expect(await gateway.runtime.database.sql`select 1 from lease_holders where id = ${firstHolder}`).toHaveLength(1);
  });

  it('counts a loss as a failed attempt once a job has lost JOB_MAX_WORKER_LOSSES workers', async () => {
    // Workers that count every loss as a failure.
    const key = 'loss-counts';
    const { id, first: doomed, second: next } = await firstTakesJob(key, { JOB_MAX_WORKER_LOSSES: '0' });
    doomed.proc.kill('SIGKILL');
    const restarted = await next.waitFor(startOf(key), 30_000);
    expect(restarted.retryCount).toBe(1);
    expect(await waitForState(id, 'completed')).toEqual({ state: 'completed', retry_count: 1 });
  });
});
