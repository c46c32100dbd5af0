import type { Account } from '../auth/tables.js';
import type { Services } from '../services.js';

/** Where a subscription stands in the account's event log. */
export interface StreamPosition {
  /** Log position of the last event handed on; becomes the SSE event id and result extensions.seq. */
  lastSeq?: number;
  /** Where a reconnecting SSE client asked to resume (its Last-Event-ID header). */
  resumeFrom?: number;
}

/** What every resolver sees: the caller's account is always set (auth runs before GraphQL). */
export interface GraphQLContext {
  account: Account;
  /** The API key that authenticated the request (rate limits and key checks go by it). */
  keyId: string;
  requestId: string;
  services: Services;
  stream: StreamPosition;
}
