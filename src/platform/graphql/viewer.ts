import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import type { Account } from '../auth/tables.js';
import { builder } from './builder.js';

export const AccountRef = builder.node(builder.objectRef<Account>('Account'), {
  id: { resolve: (account) => account.id },
  // Only the caller's own account is reachable through node(id).
  loadOne: (id, ctx) => (id === ctx.account.id ? ctx.account : null),
  fields: (t) => ({
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({ type: AccountRef, description: 'The account the API key belongs to', resolve: (_root, _args, ctx) => ctx.account }),
);

const ApiKeyRef = builder.objectRef<{ id: string; label: string | null; createdAt: Date; lastUsedAt: Date | null; revokedAt: Date | null }>('ApiKey').implement({
  description: 'An API key of the account. The secret is only ever shown once, by createApiKey.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The public key id (also the Basic auth user name)' }),
    label: t.exposeString('label', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Updated at most once a minute' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.objectField(AccountRef, 'apiKeys', (t) =>
  t.field({ type: [ApiKeyRef], resolve: (account, _args, ctx) => ctx.services.accounts.listKeys(account.id) }),
);

const CreatedApiKeyRef = builder.objectRef<{ id: string; key: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    id: t.exposeString('id'),
    key: t.exposeString('key', { description: 'The full key. Store it now: it cannot be shown again.' }),
  }),
});

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: CreatedApiKeyRef,
    args: { label: t.arg.string({ required: false, validate: z.string().max(200).nullish() }) },
    resolve: (_root, args, ctx) => ctx.services.accounts.createKey(ctx.account.id, args.label ?? undefined, ctx.keyId),
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: 'Boolean',
    description: "Revokes one of the caller's keys (revoking the key in use is allowed).",
    args: { id: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const keys = await ctx.services.accounts.listKeys(ctx.account.id);
      if (!keys.some((k) => k.id === args.id)) throw new NotFoundError('API key', args.id);
      return ctx.services.accounts.revokeKey(args.id);
    },
  }),
);
