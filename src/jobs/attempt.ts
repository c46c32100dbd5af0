// One attempt of a job-shaped domain's work order, with the retry rule every
// such domain shares: shutdown or expiry hand the job back untouched; a cancel
// is already recorded; transient failures are thrown so pg-boss retries with
// backoff (until its retries run out); anything else is recorded as FAILED.
import type { Logger } from '../platform/logger.js';
import type { JobContext } from '../platform/queue/worker.js';
import { CancelledError, describeFailure, JobFailure, type JobError } from './failures.js';

export interface AttemptOptions<Row> {
  job: JobContext;
  logger: Logger;
  /** Size limit, for the TOO_LARGE message. */
  maxBytes: number;
  /** Moves the row to running; null when the job is over already (cancelled, or finished by an earlier attempt). */
  begin(): Promise<Row | null | undefined>;
  run(row: Row): Promise<void>;
  /** Records the final failure (a guarded transition: a cancel that won stays). */
  fail(row: Row, error: JobError): Promise<void>;
}

export async function runAttempt<Row extends { id: string }>(options: AttemptOptions<Row>): Promise<void> {
  const { job, logger } = options;
  const row = await options.begin();
  if (!row) return;
  try {
    await options.run(row);
  } catch (err) {
    // Shutdown or expiry: the queue hands the job back (or retries it); the row stays as it is meanwhile.
    if (job.signal.aborted) throw job.signal.reason;
    if (err instanceof CancelledError) return;
    const failure = describeFailure(err, options.maxBytes);
    if (failure.transient && job.retryCount < job.retryLimit) {
      logger.info({ queue: job.queue, id: row.id, code: failure.code, attempt: job.retryCount + 1 }, 'job attempt failed; retrying');
      throw err instanceof Error ? err : new JobFailure(failure.code, failure.message, true);
    }
    if (failure.code === 'INTERNAL') logger.error({ err, queue: job.queue, id: row.id }, 'job failed unexpectedly');
    await options.fail(row, failure);
  }
}
