// Starts a gateway and/or workers for a config, and stops them cleanly.
// Used by the CLI and, in-process, by the tests.
import { loadConfig, type Config } from '../platform/config.js';
import { freePort } from '../platform/db/embedded.js';
import { openDatabase, type OpenDatabase } from '../platform/db/open.js';
import { createMetrics } from '../platform/http/metrics.js';
import { createServer, type RunningServer } from '../platform/http/server.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { guardUnhandledRejections } from '../platform/process-guard.js';
import type { Services } from '../platform/services.js';
import type { BackgroundTask } from '../platform/module.js';
import { bookPeriodicJobs, registerJobs, startBackground } from './jobs.js';
import { domainRoutes } from './routes.js';
import { buildSchema } from './schema.js';
import { createServices } from './services.js';

export type Mode = 'all' | 'serve' | 'work';

export interface Runtime {
  services: Services;
  database: OpenDatabase;
  /** Set when the mode serves HTTP. */
  app?: RunningServer;
  stop(): Promise<void>;
}

export async function startRuntime(config: Config, mode: Mode, logger: Logger = createLogger(config)): Promise<Runtime> {
  if (config.port === 0 && config.publicUrl.endsWith(':0')) {
    // Signed links need the real port before anything is built; pick it now.
    config.port = await freePort();
    config.publicUrl = config.publicUrl.replace(/:0$/, `:${config.port}`);
  }
  const database = await openDatabase(config, { log: (line) => logger.debug({ pg: line.trim() }, 'embedded postgres') });
  const services = createServices({ config, database, logger, metrics: createMetrics(), mode });
  const serves = mode !== 'work';
  const works = mode !== 'serve';
  let app: RunningServer | undefined;
  let background: BackgroundTask[] = [];
  let unwatchRevocations: (() => Promise<void>) | undefined;
  // Order matters on the way down: no new requests, then let running jobs finish
  // (or hand them back), then drop the LISTEN connection and the pool.
  const stopAll = async () => {
    await app?.close();
    for (const task of background) await task.stop().catch(() => {});
    await unwatchRevocations?.();
    await services.queue.stop();
    // Deregistering last: until now this process's leases and temp files were its own.
    await services.sweeper.stop();
    await services.holder.stop();
    await services.events.stop();
    await services.listener.close();
    await database.close();
  };
  try {
    // Before anything that writes: jobs, temp files and uploads are held in this holder's name.
    await services.holder.start();
    // Whoever finds a dead process cleans up after it at once; everyone sweeps now and then.
    services.holder.onTick(async ({ reaped }) => void (reaped && (await services.sweeper.run())));
    void services.sweeper.start();
    await registerJobs(services, { work: works });
    // Every mode sends jobs; only work/all fetch them.
    await services.queue.start({ workers: works });
    if (works) {
      await bookPeriodicJobs(services);
      background = await startBackground(services);
    }
    if (serves) {
      await services.events.start();
      unwatchRevocations = await services.accounts.watchRevocations(services.listener, (err) => logger.warn({ err }, 're-checking live sessions after the LISTEN reconnect failed'));
      services.readiness.push({
        name: 'events',
        check: async () => {
          if (!services.events.listening) throw new Error('LISTEN connection is down; reconnecting');
        },
      });
      app = await createServer(services, buildSchema(), domainRoutes(services)).listen(config.port, config.host);
    }
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    services,
    database,
    app,
    stop: () => (stopping ??= stopAll()),
  };
}

/** CLI entry: run until SIGINT/SIGTERM. */
export async function start(mode: Mode): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const runtime = await startRuntime(config, mode, logger);
  // The whole process is ours here (tests start runtimes in-process and keep Node's default).
  guardUnhandledRejections(logger, runtime.services.metrics.unhandledRejections);
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
