// accountEvents and pingEvents: the account-wide event stream every domain feeds.
// Domains add their own typed subscriptions with builder.subscriptionField.
import { randomUUID } from 'node:crypto';
import { filter, pipe } from 'graphql-yoga';
import { z } from 'zod';
import { builder } from './builder.js';
import { ALL_TOPICS } from '../events/bridge.js';
import type { LiveEvent } from '../events/publish.js';

const AccountEventRef = builder.objectRef<LiveEvent>('AccountEvent').implement({
  description: "A change to one of the account's records. Carries ids, not records: load what you need.",
  fields: (t) => ({
    topic: t.exposeString('topic', { description: 'The kind of record, e.g. "fetch-job"; "ping" for pingEvents' }),
    type: t.exposeString('type', { description: 'What happened, e.g. "progress" or "completed"' }),
    id: t.exposeString('id', { description: 'The id of the record that changed' }),
    at: t.field({ type: 'DateTime', resolve: (event) => event.at }),
    data: t.field({ type: 'JSON', description: 'Small event-specific fields', resolve: (event) => event.data }),
  }),
});

builder.subscriptionField('accountEvents', (t) =>
  t.field({
    type: AccountEventRef,
    description: "Every event of the caller's account, from any gateway or worker, as it commits.",
    args: { topics: t.arg.stringList({ required: false, description: 'Only these topics (all when omitted)' }) },
    subscribe: (_root, args, ctx) => {
      const source = ctx.services.events.subscribe(ctx.account.id, ALL_TOPICS);
      if (!args.topics?.length) return source;
      const topics = new Set(args.topics);
      // pipe/filter (not an async generator) so unsubscribing closes the source at once.
      return pipe(source, filter((event: LiveEvent) => topics.has(event.topic)));
    },
    resolve: (event) => event,
  }),
);

builder.mutationField('pingEvents', (t) =>
  t.field({
    type: 'Boolean',
    description: 'Publishes a "ping" event to your own accountEvents subscriptions through the real commit path; writes nothing. Use it to test subscription plumbing.',
    args: { message: t.arg.string({ required: false, validate: z.string().max(500) }) },
    resolve: async (_root, args, ctx) => {
      await ctx.services.database.db.transaction((tx) =>
        ctx.services.events.publish(tx, { accountId: ctx.account.id, topic: 'ping', type: 'ping', id: randomUUID(), data: { message: args.message ?? null } }),
      );
      return true;
    },
  }),
);
