// viewer.usage and the live `usage` subscription. Any event of the account may
// have moved a counter, so the subscription re-reads (at most every 250 ms)
// and pushes when something changed.
import { Repeater } from 'graphql-yoga';
import { ALL_TOPICS } from '../events/bridge.js';
import type { Usage } from '../usage/service.js';
import { builder } from './builder.js';
import { AccountRef } from './viewer.js';

const THROTTLE_MS = 250;

const UsageRef = builder.objectRef<Usage>('Usage').implement({
  description: "What the account uses now, kept exact by the transactions that change it",
  fields: (t) => ({
    mediaItems: t.exposeInt('mediaItems'),
    files: t.exposeInt('files'),
    bytesStored: t.exposeFloat('bytesStored', { description: 'Media library and entity files in the gateway\'s storage (a Float: sizes pass 2^31)' }),
    downloadsToday: t.exposeInt('downloadsToday', { description: 'Completed media downloads since midnight UTC' }),
    jobsRunning: t.exposeInt('jobsRunning', { description: 'Fetch jobs, download tasks and file processing under way' }),
    jobsQueued: t.exposeInt('jobsQueued', { description: 'Waiting for a worker' }),
  }),
});

builder.objectField(AccountRef, 'usage', (t) => t.field({ type: UsageRef, resolve: (_a, _args, ctx) => ctx.services.usage.get(ctx.account.id) }));

builder.subscriptionField('usage', (t) =>
  t.field({
    type: UsageRef,
    description: 'Your usage now, then again whenever it changes',
    subscribe: (_r, _a, ctx) =>
      new Repeater<Usage>(async (push, stop) => {
        const events = ctx.services.events.subscribe(ctx.account.id, ALL_TOPICS);
        void stop.then(() => events.return(undefined));
        let last = '';
        let timer: NodeJS.Timeout | undefined;
        const refresh = async () => {
          timer = undefined;
          const usage = await ctx.services.usage.get(ctx.account.id);
          const key = JSON.stringify(usage);
          if (key !== last) {
            last = key;
            await push(usage);
          }
        };
        try {
          await refresh();
          for await (const _event of events) {
            timer ??= setTimeout(() => void refresh().catch((err: unknown) => stop(err)), THROTTLE_MS);
          }
        } catch (err) {
          stop(err);
        } finally {
          clearTimeout(timer);
        }
      }),
    resolve: (usage) => usage,
  }),
);
