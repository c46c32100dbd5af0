// One fetch loop per queue per process. pg-boss's own work() loop awaits a whole
// batch before fetching again and sleeps a full poll interval after each fetch;
// this loop refills free slots as soon as they free up, sleeps only when idle,
// and wakes the moment a notification (or a retry's start time) says there is work.
import type PgBoss from 'pg-boss';
import type { Histogram } from 'prom-client';
import type { Logger } from '../logger.js';

export interface JobContext {
  id: string;
  queue: string;
  /** Aborted when the job expires or the process hands the job back on shutdown. */
  signal: AbortSignal;
  /** 0 on the first attempt. */
  retryCount: number;
  retryLimit: number;
}

export type JobHandler<P> = (payload: P, job: JobContext) => Promise<unknown>;

export type JobResult = 'completed' | 'retry' | 'dead_letter' | 'handed_back';

export class JobAbortedError extends Error {
  constructor(readonly reason: 'expired' | 'shutdown', queue: string, id: string) {
    super(reason === 'expired' ? `Job ${queue}/${id} ran past its expiry` : `Job ${queue}/${id} was handed back: worker stopping`);
    this.name = 'JobAbortedError';
  }
}

interface Running {
  controller: AbortController;
  handedBack: boolean;
  done: Promise<void>;
}

export interface WorkerDeps<P> {
  name: string;
  handler: JobHandler<P>;
  concurrency: number;
  pollIntervalMs: number;
  logger: Logger;
  duration: Histogram<'queue' | 'result'>;
  /** Returns jobs to the queue at once, without using up a retry. */
  handBack(name: string, ids: string[]): Promise<void>;
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
          for (const job of jobs) this.run(job);
        } catch (err) {
          logger.error({ err, queue: name }, 'fetching jobs failed');
        }
      }
      await this.sleep(pollIntervalMs);
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
    const entry: Running = { controller, handedBack: false, done: Promise.resolve() };
    this.running.set(job.id, entry);
    const started = performance.now();
    entry.done = (async () => {
      const expiry = setTimeout(() => controller.abort(new JobAbortedError('expired', name, job.id)), Number(job.expireInSeconds) * 1000);
      let result: JobResult;
      try {
        const context: JobContext = { id: job.id, queue: name, signal: controller.signal, retryCount: job.retryCount, retryLimit: job.retryLimit };
        await untilAborted(handler(job.data, context), controller.signal);
        result = entry.handedBack ? 'handed_back' : 'completed';
        if (!entry.handedBack) await boss.complete(name, job.id).catch((err: unknown) => logger.error({ err, queue: name, job: job.id }, 'could not mark job completed'));
      } catch (err) {
        if (entry.handedBack) {
          result = 'handed_back';
        } else {
          result = job.retryCount < job.retryLimit ? 'retry' : 'dead_letter';
          logger.warn({ err, queue: name, job: job.id, retryCount: job.retryCount, result }, 'job failed');
          await this.fail(job, err);
        }
      } finally {
        clearTimeout(expiry);
        this.running.delete(job.id);
      }
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
    const unfinished = [...this.running.entries()];
    for (const [, entry] of unfinished) entry.handedBack = true;
    await this.deps.handBack(this.deps.name, unfinished.map(([id]) => id)).catch((err: unknown) =>
      this.deps.logger.error({ err, queue: this.deps.name }, 'could not hand jobs back; they will be retried after expiry'),
    );
    for (const [id, entry] of unfinished) entry.controller.abort(new JobAbortedError('shutdown', this.deps.name, id));
    await settled();
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
