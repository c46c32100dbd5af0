import type { Account } from '../auth/tables.js';
import type { Services } from '../services.js';

/** What every resolver sees: the caller's account is always set (auth runs before GraphQL). */
export interface GraphQLContext {
  account: Account;
  /** The API key that authenticated the request (rate limits and key checks go by it). */
  keyId: string;
  requestId: string;
  services: Services;
}
