// Starts a gateway and/or workers for a config, and stops them cleanly.
// Used by the CLI and, in-process, by the tests.
import { createApp, type HttpRoute, type RunningApp } from './app.js';
import { loadConfig, type Config } from './config.js';
import { openDatabase, type OpenDatabase } from './db/open.js';
import { createMetrics } from './http/metrics.js';
import { createLogger, type Logger } from './logger.js';
import { createServices, type AppServices } from './services.js';

export type Mode = 'all' | 'serve' | 'work';

export interface Runtime {
  services: AppServices;
  database: OpenDatabase;
  /** Set when the mode serves HTTP. */
  app?: RunningApp;
  stop(): Promise<void>;
}

function domainRoutes(_services: AppServices): HttpRoute[] {
  return [];
}

export async function startRuntime(config: Config, mode: Mode, logger: Logger = createLogger(config)): Promise<Runtime> {
  const database = await openDatabase(config, { log: (line) => logger.debug({ pg: line.trim() }, 'embedded postgres') });
  const services = createServices({ config, database, logger, metrics: createMetrics() });
  let app: RunningApp | undefined;
  try {
    if (mode !== 'work') {
      app = await createApp(services, domainRoutes(services)).listen(config.port, config.host);
    }
  } catch (err) {
    await database.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    services,
    database,
    app,
    stop: () =>
      (stopping ??= (async () => {
        await app?.close();
        await database.close();
      })()),
  };
}

/** CLI entry: run until SIGINT/SIGTERM. */
export async function start(mode: Mode): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const runtime = await startRuntime(config, mode, logger);
  if (runtime.database.embedded?.owned) {
    const { account, created } = await runtime.services.accounts.ensureAccount('default');
    if (created) {
      const key = await runtime.services.accounts.createKey(account.id, 'first start');
      console.log(`\nCreated account "default". Its API key (shown once; paste it as the X-API-KEY header):\n\n  ${key.key}\n`);
    }
  }
  if (runtime.app) {
    console.log(`media-gateway ${mode} listening on ${runtime.app.url} (public URL ${config.publicUrl})`);
    console.log(`GraphiQL: ${config.publicUrl}/graphql  (set the X-API-KEY header in its Headers tab)`);
  }
  logger.info({ mode, url: runtime.app?.url, embeddedDatabase: !!runtime.database.embedded }, 'started');

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    runtime.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}
