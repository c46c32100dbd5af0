// The service bag every resolver, route and job reaches through. The platform
// declares its own members; each domain adds its service by declaration
// merging in its module.ts, so the platform never imports a domain:
//
//   declare module '../platform/services.js' {
//     interface DomainServices { fetchJobs: FetchJobService }
//   }
import type { AccountService } from './auth/service.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { EventBridge } from './events/bridge.js';
import type { PgListener } from './events/listener.js';
import type { Metrics } from './http/metrics.js';
import type { ImageWork } from './images/work.js';
import type { LeaseHolder } from './leases/holder.js';
import type { Logger } from './logger.js';
import type { JobQueue } from './queue/queue.js';
import type { Storage } from './storage/setup.js';
import type { StorageSweeper } from './storage/sweeper.js';
import type { UsageService } from './usage/service.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface PlatformServices {
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
  /** The account's usage counters. */
  usage: UsageService;
  /** Decoding images within this process's concurrency, byte and pixel caps. */
  images: ImageWork;
  /** This process as a lease holder: its heartbeat, and the reaping of dead processes. */
  holder: LeaseHolder;
  /** Removes temp files, spool files and multipart uploads that dead or failed writes left. */
  sweeper: StorageSweeper;
  readiness: ReadinessCheck[];
}

/** Filled in by the domains (declaration merging); empty here on purpose. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface DomainServices {}

export type Services = PlatformServices & DomainServices;
