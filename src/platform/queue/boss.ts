import PgBoss from 'pg-boss';
import type { Logger } from '../logger.js';

export const PGBOSS_SCHEMA = 'pgboss';
/** Workers LISTEN here; the payload is a queue name, or `name@epochMs` for delayed jobs. */
export const JOBS_CHANNEL = 'mg_jobs';

export function createBoss(databaseUrl: string, options: { supervise: boolean; logger: Logger }): PgBoss {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema: PGBOSS_SCHEMA,
    application_name: `media-gateway-queue-${process.pid}`,
    // Fetch, complete and fail are short statements; a small pool serves many slots.
    max: options.supervise ? 6 : 3,
    // Maintenance (expiring stuck jobs, archiving) runs where workers run; it takes an advisory lock, so many workers are fine.
    supervise: options.supervise,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (err) => options.logger.error({ err }, 'pg-boss error'));
  return boss;
}
