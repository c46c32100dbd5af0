import { describe, expect, it } from 'vitest';
import { errors as undiciErrors } from 'undici';
import { FetchAbortedError, FetchNetworkError, FetchTimeoutError, UrlNotAllowedError, toFetchError } from '../../../src/platform/net/index.js';

// Failures that local servers cannot provoke reliably (a connect that hangs
// needs a black-holed route) are checked at the mapping level.
describe('toFetchError', () => {
  it('maps undici timeouts to FetchTimeoutError with the right phase', () => {
    expect(toFetchError(new undiciErrors.ConnectTimeoutError(), { connectTimeoutMs: 10 })).toMatchObject({ phase: 'connect', timeoutMs: 10, transient: true });
    expect(toFetchError(new undiciErrors.HeadersTimeoutError())).toBeInstanceOf(FetchTimeoutError);
    expect(toFetchError(new undiciErrors.BodyTimeoutError())).toMatchObject({ code: 'FETCH_TIMEOUT', phase: 'body' });
  });

  it('wraps socket errors as transient network errors', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const e = toFetchError(reset);
    expect(e).toBeInstanceOf(FetchNetworkError);
    expect(e).toMatchObject({ code: 'FETCH_NETWORK', causeCode: 'ECONNRESET', transient: true, cause: reset });
    expect(toFetchError(new undiciErrors.SocketError('other side closed'))).toMatchObject({ causeCode: 'UND_ERR_SOCKET', transient: true });
    expect(toFetchError('weird')).toBeInstanceOf(FetchNetworkError);
  });

  it('attributes aborts to the total deadline or the caller', () => {
    const aborted = new undiciErrors.RequestAbortedError();
    expect(toFetchError(aborted, { totalTimedOut: true, totalTimeoutMs: 5 })).toMatchObject({ phase: 'total', timeoutMs: 5 });
    expect(toFetchError(aborted, { callerAborted: true })).toBeInstanceOf(FetchAbortedError);
  });

  it('passes our own errors through, also when wrapped', () => {
    const refusal = new UrlNotAllowedError('private address 10.0.0.1');
    expect(toFetchError(refusal)).toBe(refusal);
    expect(toFetchError(new Error('wrapped', { cause: refusal }))).toBe(refusal);
  });
});
