// Which process runs which active job. A worker leases the jobs it fetched
// before running them; the lease goes when the job ends here or when the
// holder is declared dead (a cascade from lease_holders). An active job
// without a lease is an orphan: its worker died, and it is handed back at once
// rather than left until pg-boss's expiry (an hour for downloads). A hand-back
// uses no retry, since the job did not fail; the loss is counted in the job's
// output instead, and past maxWorkerLosses in a row (a job that kills its
// worker) every further loss counts as an ordinary failure, so retries and the
// dead-letter queue still end it.
import type PgBoss from 'pg-boss';
import type postgres from 'postgres';
import type { Executor } from '../events/publish.js';
import type { Logger } from '../logger.js';
import { JOBS_CHANNEL, PGBOSS_SCHEMA } from './boss.js';
import { pgBossDb } from './sql-adapter.js';

export interface JobLeasesDeps {
  sql: postgres.Sql;
  holderId: string;
  logger: Logger;
  /** An active job this long without a lease is an orphan (spares the moment between fetch and lease). */
  graceSeconds: number;
  maxWorkerLosses: number;
}

interface Orphan {
  name: string;
  id: string;
  losses: number;
}

/** The partial index the orphan search uses; pg-boss has none on active jobs. */
const ACTIVE_INDEX = 'mg_job_active_started_on';

export class JobLeases {
  constructor(private readonly deps: JobLeasesDeps) {}

  /** Leases fetched jobs to this process. Throws when it cannot: the caller must not run them. */
  async take(queue: string, ids: string[]): Promise<void> {
    await this.deps.sql`
      insert into job_leases (job_id, queue, holder_id)
      select unnest(${ids}::uuid[]), ${queue}, ${this.deps.holderId}
      on conflict (job_id) do update set queue = excluded.queue, holder_id = excluded.holder_id, leased_at = now()`;
  }

  /** Ends this process's lease on jobs that finished (completed, failed or handed back) here. */
  async release(ids: string[]): Promise<void> {
    await this.deps.sql`delete from job_leases where job_id = any(${ids}::uuid[]) and holder_id = ${this.deps.holderId}`;
  }

  /** Whether this process holds the job's lease; the row stays locked (FOR SHARE) until tx ends. */
  async holds(tx: Executor, jobId: string): Promise<boolean> {
    const { rows } = await pgBossDb(tx).executeSql('select 1 from job_leases where job_id = $1 and holder_id = $2 for share', [jobId, this.deps.holderId]);
    return rows.length > 0;
  }

  /** The jobs this process holds a lease on now. */
  async held(): Promise<Set<string>> {
    const rows = await this.deps.sql<{ job_id: string }[]>`select job_id from job_leases where holder_id = ${this.deps.holderId}`;
    return new Set(rows.map((r) => r.job_id));
  }

  /**
   * Hands orphaned active jobs back to their queues (and wakes workers), or
   * fails them through pg-boss once they have lost too many workers.
   */
  async handBackOrphans(boss: PgBoss): Promise<Orphan[]> {
    const { sql, graceSeconds, maxWorkerLosses } = this.deps;
    const orphans = await sql<Orphan[]>`
      with orphaned as (
        select j.name, j.id, coalesce((j.output->>'workerLosses')::int, 0) + 1 as losses
        from ${sql(PGBOSS_SCHEMA)}.job j
        where j.state = 'active' and j.started_on < now() - make_interval(secs => ${graceSeconds})
          and not exists (select 1 from job_leases l where l.job_id = j.id)
        for update of j skip locked
      ), handed as (
        update ${sql(PGBOSS_SCHEMA)}.job j
        set state = 'retry', start_after = now(), started_on = null,
            output = coalesce(j.output, '{}'::jsonb) || jsonb_build_object('workerLosses', o.losses)
        from orphaned o
        where j.name = o.name and j.id = o.id and o.losses <= ${maxWorkerLosses}
        returning j.name
      )
      select name, id, losses from orphaned`;
    const failing = orphans.filter((o) => o.losses > maxWorkerLosses);
    const wake = new Set(orphans.filter((o) => o.losses <= maxWorkerLosses).map((o) => o.name));
    for (const name of wake) await sql`select pg_notify(${JOBS_CHANNEL}, ${name})`;
    for (const orphan of orphans) {
      this.deps.logger.warn({ queue: orphan.name, job: orphan.id, workerLosses: orphan.losses, handedBack: orphan.losses <= maxWorkerLosses }, 'job lost its worker');
    }
    for (const orphan of failing) {
      // The same path as a thrown error: retry with backoff, then the dead-letter queue. The count
      // stays in the output, so every further loss counts as a failure too.
      await boss.fail(orphan.name, orphan.id, { message: `The job's worker died ${orphan.losses} times in a row while running it`, workerLosses: orphan.losses });
    }
    return orphans;
  }

  /** Whether the index the orphan search needs exists. */
  static async hasIndex(sql: postgres.Sql | postgres.ReservedSql): Promise<boolean> {
    const [found] = await sql`select 1 from pg_indexes where schemaname = ${PGBOSS_SCHEMA} and indexname = ${ACTIVE_INDEX}`;
    return !!found;
  }

  /** Creates it; the caller serialises (concurrent CREATE INDEX IF NOT EXISTS can still collide). */
  static async createIndex(sql: postgres.Sql | postgres.ReservedSql): Promise<void> {
    // On the partitioned parent: existing and future queue partitions get it too.
    await sql.unsafe(`create index if not exists ${ACTIVE_INDEX} on ${PGBOSS_SCHEMA}.job (started_on) where state = 'active'`);
  }
}
