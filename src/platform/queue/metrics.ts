// Queue depth is read from PostgreSQL at scrape time (so any gateway reports the
// whole fleet's backlog); job durations are observed by the workers of this process.
import { Gauge, Histogram, type Registry } from 'prom-client';
import type postgres from 'postgres';
import { PGBOSS_SCHEMA } from './boss.js';

const WAITING_STATES = ['created', 'retry', 'active'] as const;

export interface QueueMetrics {
  jobDuration: Histogram<'queue' | 'result'>;
}

export function registerQueueMetrics(registry: Registry, sql: postgres.Sql, queueNames: () => string[]): QueueMetrics {
  new Gauge({
    name: 'media_gateway_queue_depth',
    help: 'Jobs per queue and state (created, retry, active), dead-letter queues included',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      let rows: { name: string; state: string; count: number }[];
      try {
        // Only unfinished states: the index on (name, state) keeps this cheap however much history is kept.
        rows = await sql.unsafe(
          `select name, state::text as state, count(*)::int as count from ${PGBOSS_SCHEMA}.job where state < 'completed' group by 1, 2`,
        );
      } catch {
        return; // pg-boss not installed yet, or the database is away: report nothing rather than fail the scrape
      }
      for (const queue of queueNames()) for (const state of WAITING_STATES) this.set({ queue, state }, 0);
      for (const row of rows) this.set({ queue: row.name, state: row.state }, row.count);
    },
  });
  return {
    jobDuration: new Histogram({
      name: 'media_gateway_job_duration_seconds',
      help: 'Job handler run time by queue and result (completed, retry, dead_letter, handed_back, lost: taken over after this process was presumed dead)',
      labelNames: ['queue', 'result'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900],
      registers: [registry],
    }),
  };
}
