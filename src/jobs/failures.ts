// Turns whatever stopped a job into its readable error and the retry
// decision: transient failures (5xx, resets, timeouts, our own hiccups) are
// retried, policy refusals, 4xx, wrong types and oversize never are.
import { FetchAbortedError, FetchError, HttpStatusError, ResponseTooLargeError, UrlNotAllowedError } from '../platform/net/index.js';
import { ObjectTooLargeError } from '../platform/storage/errors.js';
import { AppError } from '../platform/errors.js';

/** A failure of the job itself, decided by us rather than by the network. */
export class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly transient = false,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}

export class CancelledError extends JobFailure {
  constructor(what = 'job') {
    super('CANCELLED', `The ${what} was cancelled`);
  }
}

export interface JobError {
  code: string;
  message: string;
  transient: boolean;
}

export function describeFailure(err: unknown, maxBytes: number): JobError {
  if (err instanceof JobFailure) return { code: err.code, message: err.message, transient: err.transient };
  if (err instanceof HttpStatusError) return { code: `HTTP_${err.status}`, message: `The server answered HTTP ${err.status}`, transient: err.transient };
  if (err instanceof ResponseTooLargeError || err instanceof ObjectTooLargeError) {
    return { code: 'TOO_LARGE', message: `The media is larger than the ${maxBytes}-byte limit`, transient: false };
  }
  if (err instanceof UrlNotAllowedError) return { code: 'URL_NOT_ALLOWED', message: err.message, transient: false };
  if (err instanceof FetchAbortedError) return { code: 'CANCELLED', message: 'The transfer was stopped', transient: false };
  if (err instanceof FetchError) return { code: err.code, message: err.message, transient: err.transient };
  // A rule the job breaks (e.g. its country lost its egress proxy): the same answer next time.
  if (err instanceof AppError) return { code: err.code, message: err.message, transient: false };
  // Our own bugs and storage hiccups: worth another attempt, never a stack trace to the client.
  return { code: 'INTERNAL', message: 'The job failed unexpectedly', transient: true };
}
