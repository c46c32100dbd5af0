// Typed sending and working on the pg-boss queues, with instant wake-ups over
// LISTEN/NOTIFY, a graceful stop that hands unfinished jobs back, and leases
// that hand back the jobs of a worker that died (leases.ts).
import type PgBoss from 'pg-boss';
import type postgres from 'postgres';
import type { Registry } from 'prom-client';
import { notify, type Executor } from '../events/publish.js';
import type { PgListener } from '../events/listener.js';
import type { LeaseHolder } from '../leases/holder.js';
import type { Logger } from '../logger.js';
import { createBoss, JOBS_CHANNEL, PGBOSS_SCHEMA } from './boss.js';
import { JobLeases } from './leases.js';
import { registerQueueMetrics, type QueueMetrics } from './metrics.js';
import type { JobDefinition } from './define-job.js';
import { DEFAULT_QUEUE_POLICY, deadLetterOf, type PayloadOf, type QueueName, type QueuePolicy } from './registry.js';
import { pgBossDb } from './sql-adapter.js';
import { QueueWorker, type JobHandler } from './worker.js';

export interface SendOptions {
  /**
   * Deduplication key. On these (standard-policy) queues it only takes effect
   * together with singletonSeconds: one job per key per time window; send
   * returns null for a duplicate.
   */
  singletonKey?: string;
  singletonSeconds?: number;
  /** Seconds from now, an ISO string or a Date. */
  startAfter?: number | string | Date;
  retryLimit?: number;
  retryDelay?: number;
  retryBackoff?: boolean;
  expireInSeconds?: number;
  priority?: number;
  /**
   * The caller's transaction (drizzle or postgres.js). The job is inserted on it
   * and the wake-up NOTIFY fires on commit, so row and work order commit together.
   */
  tx?: Executor;
}

export interface WorkOptions {
  /** Jobs of this queue run at once in this process; defaults to WORKER_CONCURRENCY. */
  concurrency?: number;
  /** Safety-net poll when no notification arrives (e.g. retries scheduled by another process). */
  pollIntervalMs?: number;
}

export interface QueueDeps {
  databaseUrl: string;
  sql: postgres.Sql;
  listener: PgListener;
  logger: Logger;
  registry: Registry;
  defaultConcurrency: number;
  /** This process; the jobs its workers run are leased to it. */
  holder: LeaseHolder;
  maxWorkerLosses: number;
  /** An active job without a lease for this long is an orphan (normally a lease follows its fetch within milliseconds). */
  orphanGraceSeconds: number;
}

export class JobQueue {
  private boss: PgBoss | undefined;
  private readonly policies = new Map<string, QueuePolicy>();
  private readonly workers = new Map<string, QueueWorker<any>>();
  private unlisten: (() => Promise<void>) | undefined;
  private offTick: (() => void) | undefined;
  readonly leases: JobLeases;
  private runWorkers = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  readonly metrics: QueueMetrics;

  constructor(private readonly deps: QueueDeps) {
    this.metrics = registerQueueMetrics(deps.registry, deps.sql, () => [...this.policies.keys()].flatMap((n) => [n, deadLetterOf(n)]));
    this.leases = new JobLeases({
      sql: deps.sql,
      holderId: deps.holder.id,
      logger: deps.logger,
      graceSeconds: deps.orphanGraceSeconds,
      maxWorkerLosses: deps.maxWorkerLosses,
    });
  }

  /** Declares a queue; created at start, or now if already started. Every process declares every queue so any may send. */
  async define(name: string, policy: Partial<QueuePolicy> = {}): Promise<void> {
    this.policies.set(name, { ...DEFAULT_QUEUE_POLICY, ...policy });
    if (this.boss) await this.ensureQueues(this.boss, [[name, this.policies.get(name)!]]);
  }

  /**
   * Starts pg-boss and creates the queues. With workers, also listens for
   * wake-ups, runs maintenance and starts every registered worker.
   */
  start(options: { workers: boolean }): Promise<void> {
    this.starting ??= (async () => {
      this.runWorkers = options.workers;
      const boss = createBoss(this.deps.databaseUrl, { supervise: options.workers, logger: this.deps.logger });
      try {
        await boss.start();
      } catch (err) {
        await boss.stop({ graceful: false, close: true }).catch(() => {});
        throw err;
      }
      this.boss = boss;
      await this.ensureQueues(boss, [...this.policies]);
      if (!options.workers) return;
      await this.ensureOrphanIndex();
      this.unlisten = await this.deps.listener.subscribe(JOBS_CHANNEL, (payload) => this.onWakeUp(payload));
      // Notifications sent while the LISTEN connection was down are lost: look at every queue.
      this.deps.listener.onListening(() => this.workers.forEach((w) => w.wake()));
      for (const worker of this.workers.values()) worker.start(boss);
      // Every worker process checks its own leases and hands back other workers' orphans on each heartbeat.
      this.offTick = this.deps.holder.onTick(() => this.checkLeases());
    })();
    return this.starting;
  }

  /**
   * Creates missing queues and brings changed options up to date. pg-boss's
   * create_queue deadlocks when several processes attach partitions at once,
   * so changes are made under a cluster-wide advisory lock; the common case
   * (everything already in place) takes no lock.
   */
  private async ensureQueues(boss: PgBoss, queues: [string, QueuePolicy][]): Promise<void> {
    const wanted = queues.flatMap(([name, policy]): PgBoss.Queue[] => [
      // Dead letters are kept for inspection and never retried automatically.
      { name: deadLetterOf(name), retryLimit: 0, retentionMinutes: 60 * 24 * 30 },
      { name, ...policy, deadLetter: deadLetterOf(name) },
    ]);
    const current = async () => new Map((await boss.getQueues()).map((q) => [q.name, q]));
    const stale = (existing: Map<string, PgBoss.QueueResult>) => wanted.filter((q) => !sameOptions(existing.get(q.name), q));
    if (!stale(await current()).length) return;
    await this.withQueueLock(async () => {
      for (const queue of stale(await current())) {
        await boss.createQueue(queue.name, queue);
        await boss.updateQueue(queue.name, queue);
      }
    });
  }

  /** Runs schema changes to pgboss under one cluster-wide advisory lock. */
  private async withQueueLock(work: (conn: postgres.ReservedSql) => Promise<void>): Promise<void> {
    const conn = await this.deps.sql.reserve();
    try {
      await conn`select pg_advisory_lock(hashtext('media-gateway:pgboss-queues'))`;
      await work(conn);
    } finally {
      await conn`select pg_advisory_unlock(hashtext('media-gateway:pgboss-queues'))`.catch(() => {});
      conn.release();
    }
  }

  private async ensureOrphanIndex(): Promise<void> {
    if (await JobLeases.hasIndex(this.deps.sql)) return;
    await this.withQueueLock(async (conn) => {
      if (!(await JobLeases.hasIndex(conn))) await JobLeases.createIndex(conn);
    });
  }

  /** Stops local jobs whose lease is gone, then hands back jobs whose worker is gone. */
  async checkLeases(): Promise<void> {
    const boss = this.boss;
    if (!boss || this.stopping) return;
    const asOf = performance.now();
    const held = await this.leases.held();
    for (const worker of this.workers.values()) worker.loseUnheld(held, asOf);
    await this.leases.handBackOrphans(boss);
  }

  private requireBoss(): PgBoss {
    if (!this.boss) throw new Error('JobQueue is not started');
    return this.boss;
  }

  /** Enqueues a job and wakes an idle worker anywhere at once. Returns the job id, or null for a singleton duplicate. */
  async send<Q extends QueueName>(name: Q, payload: PayloadOf<Q>, options: SendOptions = {}): Promise<string | null> {
    if (!this.policies.has(name)) throw new Error(`Unknown queue ${name}`);
    const boss = this.requireBoss();
    const { tx, ...jobOptions } = options;
    const id = await boss.send(name, payload as object, tx ? { ...jobOptions, db: pgBossDb(tx) } : jobOptions);
    if (id) await notify(tx ?? this.deps.sql, JOBS_CHANNEL, wakeUpPayload(name, options.startAfter));
    return id;
  }

  /** Declares a job kind's queue and, in processes that work, binds its handler to the owning service. */
  async register<Q extends QueueName, S>(definition: JobDefinition<Q, S>, service: S, options: { work: boolean }): Promise<void> {
    await this.define(definition.name, definition.policy);
    if (options.work) this.work(definition.name, (payload, job) => definition.handle(service, payload, job), { concurrency: definition.concurrency });
  }

  /** Registers this process's handler for a queue; it runs once the queue is started with workers. */
  work<Q extends QueueName>(name: Q, handler: JobHandler<PayloadOf<Q>>, options: WorkOptions = {}): void {
    if (!this.policies.has(name)) throw new Error(`Unknown queue ${name}`);
    if (this.workers.has(name)) throw new Error(`Queue ${name} already has a handler in this process`);
    const worker = new QueueWorker<PayloadOf<Q>>({
      name,
      handler,
      concurrency: options.concurrency ?? this.deps.defaultConcurrency,
      pollIntervalMs: options.pollIntervalMs ?? 2000,
      logger: this.deps.logger,
      duration: this.metrics.jobDuration,
      handBack: (queueName, ids) => this.handBack(queueName, ids),
      leases: this.leases,
    });
    this.workers.set(name, worker);
    if (this.boss && this.runWorkers && !this.stopping) worker.start(this.boss);
  }

  private onWakeUp(payload: string): void {
    const at = payload.lastIndexOf('@');
    const name = at > 0 ? payload.slice(0, at) : payload;
    const worker = this.workers.get(name);
    if (!worker) return;
    if (at > 0) worker.wakeAt(Number(payload.slice(at + 1)));
    else worker.wake();
  }

  private async handBack(name: string, ids: string[]): Promise<void> {
    // Not a failure: back to waiting at once, started_on cleared so the next fetch does not count a retry.
    await this.requireBoss()
      .getDb()
      .executeSql(
        `with handed as (
           update ${PGBOSS_SCHEMA}.job set state = 'retry', start_after = now(), started_on = null
           where name = $1 and id = any($2::uuid[]) and state = 'active' returning 1),
         released as (delete from job_leases where job_id = any($2::uuid[]) and holder_id = $3)
         select pg_notify('${JOBS_CHANNEL}', $1) from handed limit 1`,
        [name, ids, this.deps.holder.id],
      );
    this.deps.logger.info({ queue: name, jobs: ids.length }, 'handed unfinished jobs back');
  }

  /** Stops fetching, waits up to timeoutMs for running jobs, hands the rest back, stops pg-boss. */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => {});
      this.offTick?.();
      await this.unlisten?.();
      await Promise.all([...this.workers.values()].map((w) => w.stop(options.timeoutMs ?? 10_000)));
      await this.boss?.stop({ graceful: false, close: true });
    })();
    return this.stopping;
  }
}

function sameOptions(existing: PgBoss.QueueResult | undefined, wanted: PgBoss.Queue): boolean {
  if (!existing) return false;
  const keys = ['retryLimit', 'retryDelay', 'retryBackoff', 'expireInSeconds', 'deadLetter'] as const;
  return keys.every((k) => wanted[k] === undefined || existing[k] === wanted[k]);
}

function wakeUpPayload(name: string, startAfter: SendOptions['startAfter']): string {
  if (startAfter === undefined) return name;
  const at = startAfter instanceof Date ? startAfter.getTime() : typeof startAfter === 'number' ? Date.now() + startAfter * 1000 : Date.parse(startAfter);
  return Number.isFinite(at) && at > Date.now() ? `${name}@${at}` : name;
}
