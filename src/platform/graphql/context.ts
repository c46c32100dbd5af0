import type { Account } from '../auth/tables.js';
import type { Services } from '../services.js';

/** What every resolver sees: the caller's account is always set (auth runs before GraphQL). */
export interface GraphQLContext {
  account: Account;
  requestId: string;
  services: Services;
}
