export {
  FetchError,
  UrlNotAllowedError,
  FetchTimeoutError,
  ResponseTooLargeError,
  FetchNetworkError,
  FetchAbortedError,
  HttpStatusError,
  isFetchError,
  toFetchError,
  type TimeoutPhase,
} from './errors.js';
export {
  checkAddress,
  checkUrl,
  validateAllowNetworks,
  policyDefaults,
  systemResolver,
  type AddressCheck,
  type EgressPolicy,
  type ResolvedAddress,
  type Resolver,
} from './policy.js';
export { safeFetch, type SafeFetchOptions, type SafeResponse } from './safe-fetch.js';
export { sniffMime, mimeMatches, isValidMimePattern, parseContentLengthOrRange, type SniffResult } from './sniff.js';
export { validateUrlArgument } from './url-argument.js';
export { validateMimePatterns } from './mime-argument.js';
