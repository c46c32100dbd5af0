// The process-wide dependencies resolvers, routes and workers reach through.
// Domain services are added here as their issues land.
import { AccountService } from './auth/service.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { EventBridge } from './events/bridge.js';
import { FileService } from './files/service.js';
import { PgListener } from './events/listener.js';
import type { Metrics } from './http/metrics.js';
import type { Logger } from './logger.js';
import { JobQueue } from './queue/queue.js';
import { createStorage, type Storage } from './storage/setup.js';
import { MediaItemService } from './media-items/service.js';
import { WebhookService } from './webhooks/service.js';
import { FetchJobService } from './fetch-jobs/service.js';

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
  /** pg_notify publisher and the LISTEN bridge feeding this process's subscriptions. */
  events: EventBridge;
  /** Typed pg-boss queues: send from anywhere, work where workers run. */
  queue: JobQueue;
  /** This process's one LISTEN connection, shared by events and queue wake-ups. */
  listener: PgListener;
  /** Object storage: the STORAGE_URL driver and drivers for other destinations. */
  storage: Storage;
  mediaItems: MediaItemService;
  /** Files attached to business entities (src/files). */
  files: FileService;
  /** Signed webhook deliveries (src/webhooks); other domains call enqueue() in their transaction. */
  webhooks: WebhookService;
  /** Fetching media from URLs (src/fetch-jobs). */
  fetchJobs: FetchJobService;
  readiness: ReadinessCheck[];
}

export function createServices(deps: { config: Config; database: Database; logger: Logger; metrics: Metrics }): AppServices {
  const { database, logger, config, metrics } = deps;
  // Nothing here connects yet: startRuntime starts what the mode needs.
  const listener = new PgListener(database.url, logger);
  const storage = createStorage(config);
  const services: AppServices = {
    ...deps,
    accounts: new AccountService(database.db),
    listener,
    events: new EventBridge(listener, logger),
    queue: new JobQueue({ databaseUrl: database.url, sql: database.sql, listener, logger, registry: metrics.registry, defaultConcurrency: config.workerConcurrency }),
    storage,
    mediaItems: new MediaItemService(() => services),
    files: new FileService(storage, () => services),
    webhooks: new WebhookService(() => services),
    fetchJobs: new FetchJobService(() => services),
    readiness: [
      { name: 'database', check: async () => void (await database.sql`select 1`) },
      { name: 'storage', check: () => storage.driver.check() },
    ],
  };
  return services;
}
