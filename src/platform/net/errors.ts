// Typed errors for outbound fetching. Callers branch on `code` (stable strings
// that can go into GraphQL error extensions and logs) and on `transient` to
// decide whether a retry has any chance of succeeding.

export abstract class FetchError extends Error {
  abstract readonly code: string;
  abstract readonly transient: boolean;
}

/** The URL (or a redirect hop, or an address it resolves to) is refused by the egress policy. */
export class UrlNotAllowedError extends FetchError {
  readonly code = 'URL_NOT_ALLOWED' as const;
  // A policy refusal gives the same answer on every attempt.
  readonly transient = false;
  constructor(
    readonly reason: string,
    readonly url?: string,
  ) {
    super(`URL not allowed: ${reason}`);
    this.name = 'UrlNotAllowedError';
  }
}

export type TimeoutPhase = 'dns' | 'connect' | 'headers' | 'body' | 'total';

export class FetchTimeoutError extends FetchError {
  readonly code = 'FETCH_TIMEOUT' as const;
  readonly transient = true;
  constructor(
    readonly phase: TimeoutPhase,
    readonly timeoutMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`fetch timed out (${phase}${timeoutMs === undefined ? '' : `, ${timeoutMs} ms`})`, options);
    this.name = 'FetchTimeoutError';
  }
}

export class ResponseTooLargeError extends FetchError {
  readonly code = 'RESPONSE_TOO_LARGE' as const;
  // The same resource will be just as large next time.
  readonly transient = false;
  constructor(
    readonly limitBytes: number,
    /** Declared size (Content-Length) when the refusal happened before reading. */
    readonly declaredBytes?: number,
  ) {
    super(
      declaredBytes === undefined
        ? `response exceeds ${limitBytes} bytes`
        : `response declares ${declaredBytes} bytes, limit is ${limitBytes}`,
    );
    this.name = 'ResponseTooLargeError';
  }
}

/** Connection-level failure: reset, refused, DNS failure, truncated body, protocol error. */
export class FetchNetworkError extends FetchError {
  readonly code = 'FETCH_NETWORK' as const;
  readonly transient: boolean;
  /** Code of the underlying error (ECONNRESET, UND_ERR_SOCKET, ENOTFOUND, ...), when known. */
  readonly causeCode: string | undefined;
  constructor(message: string, options?: { cause?: unknown; causeCode?: string; transient?: boolean }) {
    super(message, { cause: options?.cause });
    this.name = 'FetchNetworkError';
    this.causeCode = options?.causeCode;
    this.transient = options?.transient ?? true;
  }
}

/** The caller's own AbortSignal fired. Not transient: the caller asked to stop. */
export class FetchAbortedError extends FetchError {
  readonly code = 'FETCH_ABORTED' as const;
  readonly transient = false;
  constructor(options?: { cause?: unknown }) {
    super('fetch aborted', options);
    this.name = 'FetchAbortedError';
  }
}

/**
 * Non-2xx answer, for callers that want to throw on it (SafeResponse.assertOk).
 * safeFetch itself returns every status; only the caller knows what is an error.
 */
export class HttpStatusError extends FetchError {
  readonly code = 'HTTP_STATUS' as const;
  readonly transient: boolean;
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`HTTP ${status} from ${url}`);
    this.name = 'HttpStatusError';
    // 408/425/429 and 5xx can succeed later; other 4xx will not.
    this.transient = status >= 500 || status === 408 || status === 425 || status === 429;
  }
}

export function isFetchError(err: unknown): err is FetchError {
  return err instanceof FetchError;
}

// Error codes (undici's and Node's) that say "the network failed" rather than
// "the target will never work": retries make sense.
const permanentNetworkCodes = new Set(['ENOTFOUND', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

function codeOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/**
 * Turns anything thrown by undici / node:net / node:dns into one of our typed
 * errors, so no raw library error reaches callers. `ctx` tells which of our
 * own timers or signals may have caused an abort.
 */
export function toFetchError(
  err: unknown,
  ctx: { totalTimedOut?: boolean; totalTimeoutMs?: number; callerAborted?: boolean; idleTimeoutMs?: number; connectTimeoutMs?: number } = {},
): FetchError {
  if (err instanceof FetchError) return err;
  // Our own errors may come back wrapped (e.g. thrown inside a lookup callback).
  const cause = err && typeof err === 'object' && 'cause' in err ? (err as { cause: unknown }).cause : undefined;
  if (cause instanceof FetchError) return cause;
  if (ctx.totalTimedOut) return new FetchTimeoutError('total', ctx.totalTimeoutMs, { cause: err });
  if (ctx.callerAborted) return new FetchAbortedError({ cause: err });

  const code = codeOf(err) ?? codeOf(cause);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new FetchTimeoutError('connect', ctx.connectTimeoutMs, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new FetchTimeoutError('headers', ctx.idleTimeoutMs, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new FetchTimeoutError('body', ctx.idleTimeoutMs, { cause: err });
    case 'ETIMEDOUT':
      return new FetchTimeoutError('connect', ctx.connectTimeoutMs, { cause: err });
    default: {
      const message = err instanceof Error ? err.message : String(err);
      return new FetchNetworkError(`network error: ${message}${code ? ` (${code})` : ''}`, {
        cause: err,
        causeCode: code,
        transient: code === undefined || !permanentNetworkCodes.has(code),
      });
    }
  }
}
