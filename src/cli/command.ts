// What every CLI command shares: usage errors and a database for one command.
import { loadConfig, type Config } from '../platform/config.js';
import { openDatabase, type OpenDatabase } from '../platform/db/open.js';

/** A mistake in the command line: printed with a hint, exit code 2. */
export class UsageError extends Error {}

export interface Command {
  /** `keys`, `destinations` … */
  name: string;
  /** One line per subcommand for the main help. */
  summary: string[];
  /** Full help, per subcommand ('' for the command itself). */
  help: Record<string, string>;
  run(sub: string | undefined, args: string[]): Promise<void>;
}

/** Attaches to the embedded server of a running gateway when there is one. */
export async function withDatabase<T>(fn: (database: OpenDatabase, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase(config, { max: 2 });
  try {
    return await fn(database, config);
  } finally {
    await database.close();
  }
}
