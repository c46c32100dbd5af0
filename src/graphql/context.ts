import type { Account } from '../db/schema.js';
import type { AppServices } from '../services.js';

/** What every resolver sees: the caller's account is always set (auth runs before GraphQL). */
export interface GraphQLContext {
  account: Account;
  requestId: string;
  services: AppServices;
}
