// media-gateway keys create|list|revoke
import { parseArgs } from 'node:util';
import { AccountService } from '../platform/auth/service.js';
import { UsageError, withDatabase, type Command } from './command.js';

const withAccounts = <T>(fn: (accounts: AccountService) => Promise<T>) => withDatabase((database) => fn(new AccountService(database)));

export const keysCommand: Command = {
  name: 'keys',
  summary: [
    'keys create --account NAME [--label L]   create an API key (printed as the last line)',
    'keys list --account NAME                 list an account\'s keys',
    'keys revoke KEY_ID                       revoke a key',
  ],
  help: {
    '': 'Usage: media-gateway keys <create|list|revoke>\n\n  keys create --account NAME [--label L]\n  keys list --account NAME\n  keys revoke KEY_ID',
    create: 'Usage: media-gateway keys create --account NAME [--label L]\n\nCreates the account if needed and prints a new API key as the last line of output.',
    list: "Usage: media-gateway keys list --account NAME\n\nLists the account's keys (ids, labels, created/last used/revoked times). Secrets are never shown.",
    revoke: 'Usage: media-gateway keys revoke KEY_ID\n\nRevokes a key; requests with it get 401 from then on, and every gateway closes the graphql-ws sockets and SSE streams it opened.',
  },
  async run(sub, rest) {
    const { values, positionals } = parseArgs({ args: rest, options: { account: { type: 'string' }, label: { type: 'string' } }, allowPositionals: true });
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
      for (const r of rows) console.log([r.id, r.label ?? '-', r.createdAt.toISOString(), r.lastUsedAt?.toISOString() ?? '-', r.revokedAt?.toISOString() ?? '-'].join('\t'));
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
    throw new UsageError(sub ? `Unknown keys subcommand "${sub}"` : 'keys needs a subcommand');
  },
};
