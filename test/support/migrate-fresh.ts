import { connectDatabase } from '../../src/platform/db/client.js';
import { runMigrations } from '../../src/platform/db/migrate.js';

export async function migrateFresh(url: string): Promise<void> {
  const database = connectDatabase(url, { max: 1 });
  await runMigrations(database);
  await database.close();
}
