import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // Every table module: the platform's and each domain's tables.ts.
  schema: ['./src/platform/auth/tables.ts', './src/platform/leases/tables.ts', './src/*/tables.ts'],
  out: './migrations',
  // pg-boss owns the "pgboss" schema; drizzle-kit must never diff or drop it.
  schemaFilter: ['public'],
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
});
