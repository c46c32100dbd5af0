// The process-wide dependencies resolvers, routes and workers reach through.
// Domain services are added here as their issues land.
import { AccountService } from './auth/service.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { Metrics } from './http/metrics.js';
import type { Logger } from './logger.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface AppServices {
  config: Config;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  accounts: AccountService;
  readiness: ReadinessCheck[];
}

export function createServices(deps: { config: Config; database: Database; logger: Logger; metrics: Metrics }): AppServices {
  const { database } = deps;
  return {
    ...deps,
    accounts: new AccountService(database.db),
    readiness: [{ name: 'database', check: async () => void (await database.sql`select 1`) }],
  };
}
