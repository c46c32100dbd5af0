// In-process: transactional send, typed work, metrics.
import { sql as drizzleSql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgListener } from '../../../src/platform/events/listener.js';
import { connectDatabase } from '../../../src/platform/db/client.js';
import { createLogger } from '../../../src/platform/logger.js';
import { JOB_DEFINITIONS } from '../../../src/app/jobs.js';
import { JobQueue } from '../../../src/platform/queue/queue.js';
import { LeaseHolder } from '../../../src/platform/leases/holder.js';
import { Registry } from 'prom-client';
import { createTestDatabase } from '../../support/db.js';
import { startTestGateway, type TestGateway } from '../../support/gateway.js';
import { ECHO_POLICY, ECHO_QUEUE } from '../../support/echo-queue.js';

declare module '../../../src/platform/queue/registry.js' {
  interface QueuePayloads {
    'test-fence': { key: string };
  }
}

let gateway: TestGateway;
const fenced: { attempt: number; outcome: string }[] = [];
let releaseFirstAttempt!: () => void;
const firstAttemptMayFinish = new Promise<void>((resolve) => (releaseFirstAttempt = resolve));
const ran: { key: string; retryCount: number }[] = [];
const waiters = new Map<string, () => void>();

function ranKey(key: string): Promise<void> {
  if (ran.some((r) => r.key === key)) return Promise.resolve();
  return new Promise((resolve) => waiters.set(key, resolve));
}

beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'all', env: { JOB_HEARTBEAT_SECONDS: '1', JOB_STALE_SECONDS: '3' } });
  const { queue, database } = gateway.runtime.services;
  await queue.define('test-fence', { retryLimit: 2, retryDelay: 1, expireInSeconds: 60 });
  let attempts = 0;
  queue.work('test-fence', async (_payload, job) => {
    const attempt = ++attempts;
    if (attempt === 1) await firstAttemptMayFinish;
    // Records its outcome the way a domain does: in a transaction that checks the lease first.
    await database.db.transaction(async (tx) => {
      await job.fence(tx);
      fenced.push({ attempt, outcome: 'recorded' });
    }).catch((err: Error) => {
      fenced.push({ attempt, outcome: err.message });
      throw err;
    });
  });
  await queue.define(ECHO_QUEUE, ECHO_POLICY);
  queue.work(ECHO_QUEUE, async (payload, job) => {
    ran.push({ key: payload.key, retryCount: job.retryCount });
    waiters.get(payload.key)?.();
  });
});

afterAll(async () => {
  await gateway?.close();
});

const jobCount = async (key: string) => {
  const rows = await gateway.runtime.database.sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where name = ${ECHO_QUEUE} and data->>'key' = ${key}`;
  return rows[0]!.n;
};

describe('queue (in process)', () => {
  it('creates every queue with its dead-letter queue', async () => {
    const rows = await gateway.runtime.database.sql<{ name: string; dead_letter: string | null }[]>`select name, dead_letter from pgboss.queue order by name`;
    const byName = new Map(rows.map((r) => [r.name, r.dead_letter]));
    for (const name of ['fetch-job', 'download-task', 'file-process', 'thumbnail', 'webhook', 'storage-delete']) {
      expect(byName.get(name)).toBe(`${name}-dlq`);
      expect(byName.has(`${name}-dlq`)).toBe(true);
    }
  });

  it('keeps one LISTEN connection for events and job wake-ups together', async () => {
    const rows = await gateway.runtime.database.sql<{ query: string }[]>`
      select query from pg_stat_activity where application_name = ${`media-gateway-listener-${process.pid}`} and datname = current_database()`;
    expect(rows).toHaveLength(1);
  });

  it('tolerates many processes creating the queues at once on a fresh database', async () => {
    const fresh = await createTestDatabase();
    const logger = createLogger({ logLevel: 'silent' });
    const instances = [0, 1, 2, 3].map(() => {
      const database = connectDatabase(fresh.url, { max: 2 });
      const listener = new PgListener(fresh.url, logger);
      const holder = new LeaseHolder({ databaseUrl: fresh.url, sql: database.sql, logger, liveness: { heartbeatSeconds: 3, staleSeconds: 30, maxWorkerLosses: 3 }, mode: 'work' });
      const queue = new JobQueue({ databaseUrl: fresh.url, sql: database.sql, listener, logger, registry: new Registry(), defaultConcurrency: 1, holder, maxWorkerLosses: 3, orphanGraceSeconds: 3 });
      return { database, listener, queue, holder };
    });
    try {
      for (const i of instances) for (const job of JOB_DEFINITIONS) await i.queue.define(job.name, job.policy);
      await Promise.all(instances.map((i) => i.holder.start()));
      await Promise.all(instances.map((i) => i.queue.start({ workers: true })));
      const [{ n }] = await instances[0]!.database.sql<{ n: number }[]>`select count(*)::int as n from pgboss.queue`;
      // Each core queue and its dead-letter queue.
      expect(n).toBe(2 * JOB_DEFINITIONS.length);
    } finally {
      for (const i of instances) {
        await i.queue.stop();
        await i.holder.stop();
        await i.listener.close();
        await i.database.close();
      }
      await fresh.drop();
    }
  });

  it('enqueues inside a drizzle transaction: committed jobs run, rolled-back ones never exist', async () => {
    const { queue, database } = gateway.runtime.services;
    await expect(
      database.db.transaction(async (tx) => {
        await queue.send(ECHO_QUEUE, { key: 'rolled-back' }, { tx });
        await tx.execute(drizzleSql`select 1`);
        throw new Error('abort this transaction');
      }),
    ).rejects.toThrow('abort this transaction');
    await database.db.transaction(async (tx) => {
      const id = await queue.send(ECHO_QUEUE, { key: 'committed-drizzle' }, { tx });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    });
    await ranKey('committed-drizzle');
    expect(await jobCount('rolled-back')).toBe(0);
    expect(ran.some((r) => r.key === 'rolled-back')).toBe(false);
  });

  it('enqueues inside a postgres.js transaction and outside any transaction', async () => {
    const { queue, database } = gateway.runtime.services;
    await database.sql.begin(async (tx) => {
      await queue.send(ECHO_QUEUE, { key: 'committed-postgresjs' }, { tx });
    });
    await queue.send(ECHO_QUEUE, { key: 'no-tx' });
    await Promise.all([ranKey('committed-postgresjs'), ranKey('no-tx')]);
  });

  it('drops a duplicate singletonKey within its window', async () => {
    const { queue } = gateway.runtime.services;
    const first = await queue.send('storage-delete', { accountId: 'a', storage: 'local', key: 'k' }, { singletonKey: 'same', singletonSeconds: 3600, startAfter: 3600 });
    const second = await queue.send('storage-delete', { accountId: 'a', storage: 'local', key: 'k' }, { singletonKey: 'same', singletonSeconds: 3600, startAfter: 3600 });
    expect(first).toBeTruthy();
    expect(second).toBeNull();
  });

  it('fences a worker whose lease was taken: it records nothing, and the job runs again without a retry', async () => {
    const { queue, database } = gateway.runtime.services;
    const id = (await queue.send('test-fence', { key: 'fenced' }))!;
    const lease = async () => (await database.sql`select 1 from job_leases where job_id = ${id}`).length;
    for (let i = 0; i < 100 && !(await lease()); i++) await new Promise((r) => setTimeout(r, 50));
    // As if another process had declared this one dead while the attempt ran.
    await database.sql`delete from job_leases where job_id = ${id}`;
    releaseFirstAttempt();
    let row: { state: string; retry_count: number } | undefined;
    for (let i = 0; i < 200 && row?.state !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      [row] = await database.sql<{ state: string; retry_count: number }[]>`select state, retry_count from pgboss.job where id = ${id}`;
    }
    expect(row).toEqual({ state: 'completed', retry_count: 0 });
    expect(fenced).toEqual([
      { attempt: 1, outcome: expect.stringMatching(/taken over by another worker/) },
      { attempt: 2, outcome: 'recorded' },
    ]);
  });

  it('reports queue depth and job durations on /metrics', async () => {
    const res = await fetch(`${gateway.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/media_gateway_queue_depth\{queue="storage-delete",state="created"\} 1/);
    expect(text).toMatch(/media_gateway_queue_depth\{queue="fetch-job-dlq",state="created"\} 0/);
    expect(text).toMatch(/media_gateway_job_duration_seconds_count\{queue="test-echo",result="completed"\} [1-9]/);
  });
});
