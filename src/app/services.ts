// Builds the service bag: the platform's services, then each domain's, in the
// order of DOMAINS, each given the bag so far (checked against its own Deps).
import path from 'node:path';
import { AccountService } from '../platform/auth/service.js';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/db/client.js';
import { EventBridge } from '../platform/events/bridge.js';
import { PgListener } from '../platform/events/listener.js';
import type { Metrics } from '../platform/http/metrics.js';
import { ImageWork } from '../platform/images/work.js';
import { LeaseHolder } from '../platform/leases/holder.js';
import type { Logger } from '../platform/logger.js';
import type { DomainModule } from '../platform/module.js';
import { JobQueue } from '../platform/queue/queue.js';
import type { PlatformServices, Services } from '../platform/services.js';
import { LocalStorageDriver } from '../platform/storage/local.js';
import { databaseLedger } from '../platform/storage/multipart-ledger.js';
import { createStorage } from '../platform/storage/setup.js';
import { StorageSweeper } from '../platform/storage/sweeper.js';
import { UsageService } from '../platform/usage/service.js';
import { DOMAINS } from './domains.js';

// Compile-time wiring check: the full bag satisfies every domain's Deps.
type Unsatisfied<M = (typeof DOMAINS)[number]> = M extends DomainModule<infer K, infer D> ? (Services extends D ? never : K) : never;
const wiringIsComplete: [Unsatisfied] extends [never] ? true : { missingDepsFor: Unsatisfied } = true;
void wiringIsComplete;

/** Where image work copies sources to decode them (swept like every temp area). */
export const imageTempDir = (config: Pick<Config, 'dataDir'>) => path.join(config.dataDir, 'image-tmp');

export function createServices(deps: { config: Config; database: Database; logger: Logger; metrics: Metrics; mode: string }): Services {
  const { database, logger, config, metrics, mode } = deps;
  // Nothing here connects yet: startRuntime starts what the mode needs.
  const listener = new PgListener(database.url, logger);
  const holder = new LeaseHolder({ databaseUrl: database.url, sql: database.sql, logger, liveness: config.liveness, mode });
  const storage = createStorage(config, { owner: holder.id, ledger: databaseLedger(database.sql, holder.id) });
  const sweeper = new StorageSweeper({
    sql: database.sql,
    storage,
    logger,
    liveOwners: () => holder.liveIds(),
    dirs: [...(storage.driver instanceof LocalStorageDriver ? [storage.driver.tempDir] : []), config.spoolDir, imageTempDir(config)],
    maxAgeSeconds: config.sweep.maxAgeSeconds,
    intervalSeconds: config.sweep.intervalSeconds,
  });
  const platform: PlatformServices = {
    config,
    database,
    logger,
    metrics,
    accounts: new AccountService(database, { cacheTtlSeconds: config.apiKeyCacheTtlSeconds }),
    listener,
    events: new EventBridge(listener, database.sql, logger),
    queue: new JobQueue({
      databaseUrl: database.url,
      sql: database.sql,
      listener,
      logger,
      registry: metrics.registry,
      defaultConcurrency: config.workerConcurrency,
      holder,
      maxWorkerLosses: config.liveness.maxWorkerLosses,
      orphanGraceSeconds: config.liveness.heartbeatSeconds,
    }),
    storage,
    holder,
    sweeper,
    usage: new UsageService(database.sql),
    images: new ImageWork(config.images, imageTempDir(config)),
    readiness: [
      { name: 'database', check: async () => void (await database.sql`select 1`) },
      { name: 'storage', check: () => storage.driver.check() },
    ],
  };
  const services = platform as Services;
  for (const domain of DOMAINS) {
    (services as unknown as Record<string, unknown>)[domain.key] = (domain as DomainModule<typeof domain.key, Services>).create(services);
  }
  return services;
}
