// media-gateway destinations add|list|remove: the storage destinations an
// account's download tasks may write to (credentials stay the operator's).
import { parseArgs } from 'node:util';
import { AccountService } from '../platform/auth/service.js';
import { AppError } from '../platform/errors.js';
import { DestinationAllowList } from '../download-tasks/destinations.js';
import { UsageError, withDatabase, type Command } from './command.js';

async function withAllowList<T>(accountName: string, create: boolean, fn: (list: DestinationAllowList, accountId: string) => Promise<T>): Promise<T> {
  return withDatabase(async (database, config) => {
    const accounts = new AccountService(database);
    const account = create ? (await accounts.ensureAccount(accountName)).account : await accounts.findAccount(accountName);
    if (!account) throw new UsageError(`No account named "${accountName}"`);
    try {
      return await fn(new DestinationAllowList({ database, config }), account.id);
    } catch (err) {
      // Bad URLs and unknown entries are the caller's mistake, said plainly.
      if (err instanceof AppError) throw new UsageError(err.message);
      throw err;
    }
  });
}

export const destinationsCommand: Command = {
  name: 'destinations',
  summary: [
    'destinations add --account NAME URL [--endpoint URL] [--region R]   allow download tasks to write under URL',
    'destinations list --account NAME                                   list allowed destinations',
    'destinations remove --account NAME URL|ID                          remove one',
  ],
  help: {
    '': 'Usage: media-gateway destinations <add|list|remove>\n\n  destinations add --account NAME URL [--endpoint URL] [--region R]\n  destinations list --account NAME\n  destinations remove --account NAME URL|ID',
    add: 'Usage: media-gateway destinations add --account NAME URL [--endpoint URL] [--region R]\n\nAllows the account\'s download tasks to write under URL (s3://bucket/prefix/, gs://bucket/prefix/, or file:///path/ with ALLOW_FILE_DESTINATIONS=true).\n--endpoint and --region point at an S3-compatible store (MinIO, R2, Spaces). Prints the entry\'s id as the last line.',
    list: 'Usage: media-gateway destinations list --account NAME\n\nLists the account\'s allowed destinations.',
    remove: 'Usage: media-gateway destinations remove --account NAME URL|ID\n\nRemoves an allowed destination.',
  },
  async run(sub, rest) {
    const { values, positionals } = parseArgs({ args: rest, options: { account: { type: 'string' }, endpoint: { type: 'string' }, region: { type: 'string' } }, allowPositionals: true });
    if (!sub) throw new UsageError('destinations needs a subcommand');
    if (!['add', 'list', 'remove'].includes(sub)) throw new UsageError(`Unknown destinations subcommand "${sub}"`);
    if (!values.account) throw new UsageError(`destinations ${sub} needs --account NAME`);
    if (sub === 'list') {
      const rows = await withAllowList(values.account, false, (list, accountId) => list.list(accountId));
      console.log(['ID', 'URL', 'ENDPOINT', 'REGION'].join('\t'));
      for (const r of rows) console.log([r.id, r.url, r.endpoint ?? '-', r.region ?? '-'].join('\t'));
      return;
    }
    const target = positionals[0];
    if (!target) throw new UsageError(`destinations ${sub} needs a URL`);
    if (sub === 'add') {
      const row = await withAllowList(values.account, true, (list, accountId) => list.add(accountId, { url: target, endpoint: values.endpoint, region: values.region }));
      console.log(`Allowed ${row.url} for account "${values.account}":`);
      console.log(row.id);
      return;
    }
    const row = await withAllowList(values.account, false, (list, accountId) => list.remove(accountId, target));
    console.log(`Removed ${row.url}`);
  },
};
