#!/usr/bin/env node
// media-gateway CLI: serve | work | all (default) | migrate | keys create|list|revoke
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './platform/config.js';
import { openDatabase } from './platform/db/open.js';
import { AccountService } from './platform/auth/service.js';
import { start } from './app/runtime.js';

const HELP: Record<string, string> = {
  main: `Usage: media-gateway [command] [options]

Commands:
  all                 run the gateway and the workers in one process (default)
  serve               run the HTTP/GraphQL gateway only
  work                run the job workers only
  migrate             apply database migrations and exit
  keys create --account NAME [--label L]   create an API key (printed as the last line)
  keys list --account NAME                 list an account's keys
  keys revoke KEY_ID                       revoke a key

Configuration comes from the environment (see README). --help on any command shows its usage.`,
  all: 'Usage: media-gateway all\n\nRuns the gateway and the workers together. With no DATABASE_URL, starts embedded PostgreSQL under DATA_DIR.',
  serve: 'Usage: media-gateway serve\n\nRuns the HTTP/GraphQL gateway (GraphiQL at /graphql, /healthz, /readyz, /metrics).',
  work: 'Usage: media-gateway work\n\nRuns the job workers. Start as many as you need; they share the work through PostgreSQL.',
  migrate: 'Usage: media-gateway migrate\n\nApplies pending database migrations and exits.',
  keys: 'Usage: media-gateway keys <create|list|revoke>\n\n  keys create --account NAME [--label L]\n  keys list --account NAME\n  keys revoke KEY_ID',
  'keys create': 'Usage: media-gateway keys create --account NAME [--label L]\n\nCreates the account if needed and prints a new API key as the last line of output.',
  'keys list': 'Usage: media-gateway keys list --account NAME\n\nLists the account\'s keys (ids, labels, created/last used/revoked times). Secrets are never shown.',
  'keys revoke': 'Usage: media-gateway keys revoke KEY_ID\n\nRevokes a key; requests with it get 401 from then on, and every gateway closes the graphql-ws sockets and SSE streams it opened.',
};

class UsageError extends Error {}

async function withAccounts<T>(fn: (accounts: AccountService) => Promise<T>): Promise<T> {
  // Attaches to the embedded server of a running gateway when there is one.
  const database = await openDatabase(loadConfig(), { max: 2 });
  try {
    return await fn(new AccountService(database));
  } finally {
    await database.close();
  }
}

async function keysCommand(sub: string | undefined, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: rest, options: { account: { type: 'string' }, label: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true });
  if (values.help || !sub) {
    console.log(HELP[sub ? `keys ${sub}` : 'keys'] ?? HELP.keys);
    if (!sub && !values.help) throw new UsageError('keys needs a subcommand');
    return;
  }
  if (sub === 'create') {
    if (!values.account) throw new UsageError('keys create needs --account NAME');
    const key = await withAccounts(async (accounts) => {
      const { account } = await accounts.ensureAccount(values.account!);
      return accounts.createKey(account.id, values.label);
    });
    console.log(`Created key ${key.id} for account "${values.account}". Keep it safe; it is not shown again:`);
    console.log(key.key);
    return;
  }
  if (sub === 'list') {
    if (!values.account) throw new UsageError('keys list needs --account NAME');
    const rows = await withAccounts(async (accounts) => {
      const account = await accounts.findAccount(values.account!);
      if (!account) throw new UsageError(`No account named "${values.account}"`);
      return accounts.listKeys(account.id);
    });
    console.log(['KEY_ID', 'LABEL', 'CREATED', 'LAST_USED', 'REVOKED'].join('\t'));
    for (const r of rows) {
      console.log([r.id, r.label ?? '-', r.createdAt.toISOString(), r.lastUsedAt?.toISOString() ?? '-', r.revokedAt?.toISOString() ?? '-'].join('\t'));
    }
    return;
  }
  if (sub === 'revoke') {
    const keyId = positionals[0];
    if (!keyId) throw new UsageError('keys revoke needs KEY_ID');
    const found = await withAccounts((accounts) => accounts.revokeKey(keyId));
    if (!found) throw new UsageError(`No key ${keyId}`);
    console.log(`Revoked ${keyId}`);
    return;
  }
  throw new UsageError(`Unknown keys subcommand "${sub}"`);
}

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  const command = !first || first.startsWith('-') ? 'all' : first;
  const args = !first || first.startsWith('-') ? argv : rest;
  if (first === 'help' || first === '--help' || first === '-h') {
    console.log(HELP.main);
    return;
  }
  if (command === 'keys') return keysCommand(args[0]?.startsWith('-') ? undefined : args[0], args[0]?.startsWith('-') ? args : args.slice(1));
  if (!(command in HELP)) throw new UsageError(`Unknown command "${command}"`);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP[command]);
    return;
  }
  if (args.length) throw new UsageError(`Unexpected arguments: ${args.join(' ')}`);
  if (command === 'migrate') {
    const database = await openDatabase(loadConfig(), { max: 2 });
    await database.close();
    console.log('Migrations applied.');
    return;
  }
  await start(command as 'all' | 'serve' | 'work');
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
