import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Database } from './client.js';

/** The package root, whether running from src/ (tests) or dist/src/ (built). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

// Arbitrary constant: serialises migrations when several gateways and workers
// start at once against the same database.
const MIGRATION_LOCK = 727_001;

export async function runMigrations(database: Database): Promise<void> {
  const migrationsFolder = path.join(projectRoot(), 'migrations');
  // A connection of its own holds the lock, so a pool of size 1 cannot deadlock.
  const lock = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(database.db, { migrationsFolder, migrationsSchema: 'drizzle' });
  } finally {
    await lock.end({ timeout: 5 });
  }
}
