// accountEvents and pingEvents: the account-wide event stream every domain
// feeds, and the `after` argument every subscription takes to resume.
import { randomUUID } from 'node:crypto';
import { filter, pipe } from 'graphql-yoga';
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { ALL_TOPICS } from '../events/bridge.js';
import { RESYNC, type LiveEvent } from '../events/publish.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';

/** `after` on every subscription: resume after the last `seq` seen. */
export const resumeArgs = builder.args((t) => ({
  after: t.string({
    required: false,
    description: 'Resume: the `seq` of the last event you saw. Logged events after it are replayed first; a RESYNC event says the log no longer reaches back that far.',
  }),
}));

/** Options for EventBridge.subscribe: resume from `after` (or the SSE Last-Event-ID) and record positions. */
export function streamOptions(after: string | null | undefined, ctx: GraphQLContext): { after?: number; onDelivered: (seq: number) => void } {
  let from: number | undefined = ctx.stream.resumeFrom;
  if (after != null) {
    if (!/^\d{1,15}$/.test(after)) throw new ValidationError('after', 'must be the seq of an event (a whole number)');
    from = Number(after);
  }
  return { after: from, onDelivered: (seq) => void (ctx.stream.lastSeq = seq) };
}

const AccountEventRef = builder.objectRef<LiveEvent>('AccountEvent').implement({
  description: "A change to one of the account's records. Carries ids, not records: load what you need.",
  fields: (t) => ({
    seq: t.string({
      nullable: true,
      description: "Position in the account's event log (pass it as `after` to resume); null for PROGRESS events, which are not logged",
      resolve: (event) => (event.seq === null ? null : String(event.seq)),
    }),
    topic: t.exposeString('topic', { description: 'The kind of record, e.g. "fetch-job"; "ping" for pingEvents; "*" for RESYNC' }),
    type: t.exposeString('type', { description: 'CREATED, UPDATED, STATE, PROGRESS or DELETED; RESYNC when you must refetch (your resume point was pruned); "ping" for pingEvents' }),
    id: t.exposeString('id', { description: 'The id of the record that changed' }),
    at: t.field({ type: 'DateTime', resolve: (event) => event.at }),
    data: t.field({ type: 'JSON', description: 'status, stage, bytesReceived, bytesTotal where they apply, and a few fields of the record', resolve: (event) => event.data }),
  }),
});

builder.subscriptionField('accountEvents', (t) =>
  t.field({
    type: AccountEventRef,
    description: "Every event of the caller's account, from any gateway or worker, in commit order.",
    args: { topics: t.arg.stringList({ required: false, description: 'Only these topics (all when omitted)' }), ...resumeArgs },
    subscribe: (_root, args, ctx) => {
      const source = ctx.services.events.subscribe(ctx.account.id, ALL_TOPICS, streamOptions(args.after, ctx));
      if (!args.topics?.length) return source;
      const topics = new Set(args.topics);
      // pipe/filter (not an async generator) so unsubscribing closes the source at once.
      return pipe(source, filter((event: LiveEvent) => event.type === RESYNC || topics.has(event.topic)));
    },
    resolve: (event) => event,
  }),
);

builder.mutationField('pingEvents', (t) =>
  t.field({
    type: 'Boolean',
    description: 'Publishes a "ping" event to your own accountEvents subscriptions through the real commit path (it is logged like any event). Use it to test subscription plumbing.',
    args: { message: t.arg.string({ required: false, validate: z.string().max(500) }) },
    resolve: async (_root, args, ctx) => {
      await ctx.services.database.db.transaction((tx) =>
        ctx.services.events.publish(tx, { accountId: ctx.account.id, topic: 'ping', type: 'ping', id: randomUUID(), data: { message: args.message ?? null } }),
      );
      return true;
    },
  }),
);
