#!/usr/bin/env node
// media-gateway CLI: serve | work | all (default) | migrate | keys … | destinations …
import { ConfigError, loadConfig } from './platform/config.js';
import { openDatabase } from './platform/db/open.js';
import { start } from './app/runtime.js';
import { UsageError, type Command } from './cli/command.js';
import { destinationsCommand } from './cli/destinations.js';
import { keysCommand } from './cli/keys.js';

const COMMANDS: Command[] = [keysCommand, destinationsCommand];

const PROCESS_HELP: Record<string, string> = {
  all: 'Usage: media-gateway all\n\nRuns the gateway and the workers together. With no DATABASE_URL, starts embedded PostgreSQL under DATA_DIR.',
  serve: 'Usage: media-gateway serve\n\nRuns the HTTP/GraphQL gateway (GraphiQL at /graphql, /healthz, /readyz, /metrics).',
  work: 'Usage: media-gateway work\n\nRuns the job workers. Start as many as you need; they share the work through PostgreSQL.',
  migrate: 'Usage: media-gateway migrate\n\nApplies pending database migrations and exits.',
};

const MAIN_HELP = `Usage: media-gateway [command] [options]

Commands:
  all                 run the gateway and the workers in one process (default)
  serve               run the HTTP/GraphQL gateway only
  work                run the job workers only
  migrate             apply database migrations and exit
${COMMANDS.flatMap((c) => c.summary.map((line) => `  ${line}`)).join('\n')}

Configuration comes from the environment (see README). --help on any command shows its usage.`;

async function runCommand(command: Command, args: string[]): Promise<void> {
  const sub = args[0] && !args[0].startsWith('-') ? args[0] : undefined;
  const rest = sub ? args.slice(1) : args;
  if (rest.includes('--help') || rest.includes('-h') || !sub) {
    console.log(command.help[sub ?? ''] ?? command.help['']);
    if (!sub && !rest.includes('--help') && !rest.includes('-h')) throw new UsageError(`${command.name} needs a subcommand`);
    return;
  }
  await command.run(sub, rest);
}

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    console.log(MAIN_HELP);
    return;
  }
  const name = !first || first.startsWith('-') ? 'all' : first;
  const args = !first || first.startsWith('-') ? argv : rest;
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return runCommand(command, args);
  if (!(name in PROCESS_HELP)) throw new UsageError(`Unknown command "${name}"`);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(PROCESS_HELP[name]);
    return;
  }
  if (args.length) throw new UsageError(`Unexpected arguments: ${args.join(' ')}`);
  if (name === 'migrate') {
    const database = await openDatabase(loadConfig(), { max: 2 });
    await database.close();
    console.log('Migrations applied.');
    return;
  }
  await start(name as 'all' | 'serve' | 'work');
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof ConfigError) {
    console.error(`media-gateway: ${err.message}`);
    if (err instanceof UsageError) console.error('Run "media-gateway --help" for usage.');
    process.exit(2);
  }
  console.error('media-gateway: fatal:', err);
  process.exit(1);
});
