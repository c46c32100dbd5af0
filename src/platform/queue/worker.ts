// One fetch loop per queue per process. pg-boss's own work() loop awaits a whole
// batch before fetching again and sleeps a full poll interval after each fetch;
// this loop refills free slots as soon as they free up, sleeps only when idle,
// and wakes the moment a notification (or a retry's start time) says there is work.
// Every job runs under a lease (see leases.ts); a job whose lease was taken
// away (this process was presumed dead) is aborted here without a word to
// pg-boss, since another worker owns it now.
import type PgBoss from 'pg-boss';
import type { Histogram } from 'prom-client';
import type { Executor } from '../events/publish.js';
import type { Logger } from '../logger.js';

export interface JobContext {
  id: string;
  queue: string;
  /** Aborted when the job expires, the process hands the job back on shutdown, or its lease was lost. */
  signal: AbortSignal;
  /** 0 on the first attempt. */
  retryCount: number;
  retryLimit: number;
  /**
   * Call in the transaction that records the job's outcome: throws (and aborts
   * the job) unless this process still holds the job's lease, and keeps the
   * lease from being taken until that transaction ends. A worker presumed
   * dead, which another worker has taken over from, then records nothing.
   */
  fence(tx: Executor): Promise<void>;
}

export type JobHandler<P> = (payload: P, job: JobContext) => Promise<unknown>;

export type JobResult = 'completed' | 'retry' | 'dead_letter' | 'handed_back' | 'lost';

const ABORT_MESSAGES = {
  expired: 'ran past its expiry',
  shutdown: 'was handed back: worker stopping',
  lost: 'was taken over by another worker: this process was presumed dead',
} as const;

export class JobAbortedError extends Error {
  constructor(readonly reason: keyof typeof ABORT_MESSAGES, queue: string, id: string) {
    super(`Job ${queue}/${id} ${ABORT_MESSAGES[reason]}`);
    this.name = 'JobAbortedError';
  }
}

/** How long a stopping worker waits for aborted handlers to clean up (temp files, multipart uploads). */
const CLEANUP_GRACE_MS = 5000;

interface Running {
  controller: AbortController;
  /** Not ours to complete or fail any more: handed back, or the lease was lost. */
  givenUp: 'handed_back' | 'lost' | undefined;
  /** Completing or failing: its lease is about to go on purpose. */
  settling: boolean;
  /** performance.now() when it started running (its lease was already taken). */
  leasedAt: number;
  /** The slot: settles at once when the job is aborted. */
  done: Promise<void>;
  /** The handler itself: settles only when its cleanup has run. */
  handled: Promise<unknown>;
}

export interface WorkerLeases {
  take(queue: string, ids: string[]): Promise<void>;
  release(ids: string[]): Promise<void>;
  /** Whether this process holds the job's lease, locking it (FOR SHARE) in tx. */
  holds(tx: Executor, jobId: string): Promise<boolean>;
}

export interface WorkerDeps<P> {
  name: string;
  handler: JobHandler<P>;
  concurrency: number;
  pollIntervalMs: number;
  logger: Logger;
  duration: Histogram<'queue' | 'result'>;
  /** Returns jobs to the queue at once, without using up a retry (and ends their leases). */
  handBack(name: string, ids: string[]): Promise<void>;
  leases: WorkerLeases;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class QueueWorker<P> {
  private readonly running = new Map<string, Running>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private wakeSleeper: (() => void) | undefined;
  private woken = false;
  private stopping = false;
  /** The last fetch filled every free slot, so more jobs may be waiting. */
  private saturated = false;
  private loopDone: Promise<void> | undefined;
  private boss!: PgBoss;

  constructor(private readonly deps: WorkerDeps<P>) {}

  get name(): string {
    return this.deps.name;
  }

  get active(): number {
    return this.running.size;
  }

  start(boss: PgBoss): void {
    this.boss = boss;
    this.loopDone ??= this.loop();
  }

  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  wakeAt(epochMs: number): void {
    const ms = epochMs - Date.now();
    if (ms <= 0) return this.wake();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wake();
    }, ms + 5);
    timer.unref();
    this.timers.add(timer);
  }

  private async loop(): Promise<void> {
    const { name, concurrency, pollIntervalMs, logger } = this.deps;
    const boss = this.boss;
    while (!this.stopping) {
      this.woken = false;
      const free = concurrency - this.running.size;
      if (free > 0) {
        try {
          const jobs = await boss.fetch<P>(name, { batchSize: free, includeMetadata: true });
          this.saturated = jobs.length === free;
          if (jobs.length && (await this.lease(jobs))) for (const job of jobs) this.run(job);
          // This process could not lease (its registration may be gone until the next beat): do not spin.
          else if (jobs.length) await pause(pollIntervalMs);
        } catch (err) {
          logger.error({ err, queue: name }, 'fetching jobs failed');
        }
      }
      await this.sleep(pollIntervalMs);
    }
  }

  /** A job runs only under a lease; jobs that cannot be leased go straight back. */
  private async lease(jobs: PgBoss.JobWithMetadata<P>[]): Promise<boolean> {
    const { name, logger, leases, handBack } = this.deps;
    const ids = jobs.map((j) => j.id);
    try {
      await leases.take(name, ids);
      return true;
    } catch (err) {
      logger.error({ err, queue: name }, 'could not lease fetched jobs; handing them back');
      // If this fails too, the jobs are lease-less orphans and any worker hands them back.
      await handBack(name, ids).catch(() => {});
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
    });
  }

  private run(job: PgBoss.JobWithMetadata<P>): void {
    const { name, handler, logger, duration } = this.deps;
    const boss = this.boss;
    const controller = new AbortController();
    const started = performance.now();
    const entry: Running = { controller, givenUp: undefined, settling: false, leasedAt: started, done: Promise.resolve(), handled: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = (async () => {
      const expiry = setTimeout(() => controller.abort(new JobAbortedError('expired', name, job.id)), Number(job.expireInSeconds) * 1000);
      let result: JobResult;
      try {
        const fence = async (tx: Executor) => {
          if (await this.deps.leases.holds(tx, job.id)) return;
          entry.givenUp ??= 'lost';
          controller.abort(new JobAbortedError('lost', name, job.id));
          throw controller.signal.reason;
        };
        const context: JobContext = { id: job.id, queue: name, signal: controller.signal, retryCount: job.retryCount, retryLimit: job.retryLimit, fence };
        const handled = handler(job.data, context);
        entry.handled = handled.catch(() => {});
        await untilAborted(handled, controller.signal);
        result = entry.givenUp ?? 'completed';
        if (!entry.givenUp) {
          entry.settling = true;
          await boss.complete(name, job.id).catch((err: unknown) => logger.error({ err, queue: name, job: job.id }, 'could not mark job completed'));
        }
      } catch (err) {
        if (entry.givenUp) {
          result = entry.givenUp;
        } else {
          entry.settling = true;
          result = job.retryCount < job.retryLimit ? 'retry' : 'dead_letter';
          logger.warn({ err, queue: name, job: job.id, retryCount: job.retryCount, result }, 'job failed');
          await this.fail(job, err);
        }
      } finally {
        clearTimeout(expiry);
        this.running.delete(job.id);
      }
      // After complete/fail, never before: an active job without a lease is an orphan.
      if (entry.settling) await this.deps.leases.release([job.id]).catch((err: unknown) => logger.warn({ err, queue: name, job: job.id }, 'could not release job lease'));
      duration.observe({ queue: name, result }, (performance.now() - started) / 1000);
      if (this.saturated) this.wake();
    })();
  }

  private async fail(job: PgBoss.JobWithMetadata<P>, err: unknown): Promise<void> {
    const { name, logger } = this.deps;
    const boss = this.boss;
    const message = err instanceof Error ? err.message : String(err);
    try {
      await boss.fail(name, job.id, { message, name: err instanceof Error ? err.name : 'Error' });
      if (job.retryCount >= job.retryLimit) return;
      // Nothing announces a retry's start time, so wake ourselves then rather than on the next poll.
      const retry = await boss.getJobById(name, job.id);
      if (retry?.state === 'retry') this.wakeAt(new Date(retry.startAfter).getTime());
    } catch (failErr) {
      logger.error({ err: failErr, queue: name, job: job.id }, 'could not record job failure; it will be retried after expiry');
    }
  }

  /**
   * Aborts the running jobs whose lease is gone (this process was presumed
   * dead and another worker owns them now). `held` is the set of leases read
   * after `asOf`; jobs started later are not judged by it.
   */
  loseUnheld(held: Set<string>, asOf: number): number {
    let lost = 0;
    for (const [id, entry] of this.running) {
      if (entry.givenUp || entry.settling || entry.leasedAt > asOf || held.has(id)) continue;
      entry.givenUp = 'lost';
      entry.controller.abort(new JobAbortedError('lost', this.deps.name, id));
      this.deps.logger.warn({ queue: this.deps.name, job: id }, 'job lease lost; stopped it here');
      lost++;
    }
    return lost;
  }

  /** Stop fetching; let running jobs finish for up to timeoutMs, then hand the rest back. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.loopDone;
    const settled = () => Promise.allSettled([...this.running.values()].map((r) => r.done));
    if (this.running.size) await Promise.race([settled(), pause(timeoutMs)]);
    if (!this.running.size) return;
    const unfinished = [...this.running.entries()].filter(([, entry]) => !entry.givenUp && !entry.settling);
    for (const [, entry] of unfinished) entry.givenUp = 'handed_back';
    if (unfinished.length) {
      await this.deps.handBack(this.deps.name, unfinished.map(([id]) => id)).catch((err: unknown) =>
        this.deps.logger.error({ err, queue: this.deps.name }, 'could not hand jobs back; another worker will once this process is gone'),
      );
    }
    const handlers = [...this.running.values()].map((r) => r.handled);
    for (const [id, entry] of unfinished) entry.controller.abort(new JobAbortedError('shutdown', this.deps.name, id));
    await settled();
    // The slots are free, but the handlers may still be removing what they wrote: let them, briefly.
    await Promise.race([Promise.allSettled(handlers), pause(CLEANUP_GRACE_MS)]);
  }
}

/** Rejects when the signal aborts even if the handler ignores it, so its slot is freed. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
