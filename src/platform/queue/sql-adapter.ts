// Lets pg-boss run its INSERT on the caller's connection (a drizzle or
// postgres.js transaction), so a domain row and its work order commit together.
import type PgBoss from 'pg-boss';
import type postgres from 'postgres';
import type { Executor } from '../events/publish.js';

function postgresJsOf(executor: Executor): postgres.Sql | postgres.TransactionSql {
  if (typeof (executor as postgres.Sql).unsafe === 'function') return executor as postgres.Sql;
  // drizzle's postgres-js handles: a Db exposes its client as $client; a
  // transaction keeps the postgres.js TransactionSql on its session.
  const candidate = (executor as { $client?: unknown }).$client ?? (executor as unknown as { session?: { client?: unknown } }).session?.client;
  if (candidate && typeof (candidate as postgres.Sql).unsafe === 'function') return candidate as postgres.Sql;
  throw new TypeError('queue.send: tx must be a drizzle (postgres-js) Db/transaction or a postgres.js Sql/transaction');
}

// node-postgres (pg-boss's driver) turns objects into JSON itself; postgres.js
// sends untyped parameters as text, so do that conversion here.
function toParameter(value: unknown): unknown {
  if (value === undefined) return null;
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    return JSON.stringify(value);
  }
  return value;
}

export function pgBossDb(executor: Executor): PgBoss.Db {
  const sql = postgresJsOf(executor);
  return {
    async executeSql(text, values = []) {
      const rows = await sql.unsafe(text, values.map(toParameter) as postgres.ParameterOrJSON<never>[]);
      return { rows: [...rows] };
    },
  };
}
