// Turns whatever stopped a fetch into the job's readable error and the
// retry decision: transient failures (5xx, resets, timeouts) are retried,
// policy refusals and 4xx never are.
import { FetchAbortedError, FetchError, HttpStatusError, ResponseTooLargeError, UrlNotAllowedError } from '../net/index.js';
import { ObjectTooLargeError } from '../storage/errors.js';
import type { Verdict } from './extractors/types.js';

/** A failure of the job itself, decided by us rather than by the network. */
export class FetchJobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly transient = false,
  ) {
    super(message);
    this.name = 'FetchJobFailure';
  }
}

export class CancelledError extends FetchJobFailure {
  constructor() {
    super('CANCELLED', 'The fetch job was cancelled');
  }
}

export interface JobError {
  code: string;
  message: string;
  transient: boolean;
}

export function describeFailure(err: unknown, maxBytes: number): JobError {
  if (err instanceof FetchJobFailure) return { code: err.code, message: err.message, transient: err.transient };
  if (err instanceof HttpStatusError) return { code: `HTTP_${err.status}`, message: `The server answered HTTP ${err.status}`, transient: err.transient };
  if (err instanceof ResponseTooLargeError || err instanceof ObjectTooLargeError) {
    return { code: 'TOO_LARGE', message: `The media is larger than the ${maxBytes}-byte limit`, transient: false };
  }
  if (err instanceof UrlNotAllowedError) return { code: 'URL_NOT_ALLOWED', message: err.message, transient: false };
  if (err instanceof FetchAbortedError) return { code: 'CANCELLED', message: 'The fetch was stopped', transient: false };
  if (err instanceof FetchError) return { code: err.code, message: err.message, transient: err.transient };
  // Our own bugs and storage hiccups: worth another attempt, never a stack trace to the client.
  return { code: 'INTERNAL', message: 'The fetch failed unexpectedly', transient: true };
}

export function verdictOf(code: string): Verdict {
  if (code === 'URL_NOT_ALLOWED' || code === 'MIME_NOT_ACCEPTED' || code === 'TOO_LARGE' || code === 'NO_MEDIA') return code;
  return 'UNREACHABLE';
}
