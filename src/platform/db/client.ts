import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';

// No relational schema is registered: every query names its table, so this
// layer needs to know no domain's tables.
export type Db = PostgresJsDatabase;
/** A drizzle handle inside a transaction; services accept either. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  url: string;
  close(): Promise<void>;
}

export function connectDatabase(url: string, options: { max?: number; onQuery?: (sql: string) => void } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // postgres.js returns bigint columns as strings unless told otherwise
    types: { bigint: postgres.BigInt },
    connection: { application_name: 'media-gateway' },
    debug: options.onQuery ? (_conn, query) => options.onQuery!(query) : undefined,
  });
  const db = drizzle(sql);
  return { db, sql, url, close: () => sql.end({ timeout: 5 }) };
}

export async function ping(sql: postgres.Sql): Promise<void> {
  await sql`select 1`;
}
