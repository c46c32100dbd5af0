// Opens the database the config names, or the embedded one under DATA_DIR.
import type { Config } from '../config.js';
import { connectDatabase, type Database } from './client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { runMigrations } from './migrate.js';

export interface OpenDatabase extends Database {
  embedded?: EmbeddedDatabase;
}

export async function openDatabase(config: Config, options: { migrate?: boolean; max?: number; log?: (line: string) => void } = {}): Promise<OpenDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir, { port: config.embeddedPgPort || undefined, log: options.log });
    url = embedded.url;
  }
  const database = connectDatabase(url, { max: options.max });
  if (options.migrate ?? true) await runMigrations(database);
  return {
    ...database,
    embedded,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}
