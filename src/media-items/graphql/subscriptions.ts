// mediaItemEvents: live changes to the caller's library through the events bridge.
import { builder } from '../../platform/graphql/builder.js';
import { resumeArgs, streamOptions } from '../../platform/graphql/events.js';
import type { LiveEvent } from '../../platform/events/publish.js';
import { MEDIA_ITEM_TOPIC, type MediaItemEventType } from '../service.js';
import { MediaItemRef, mediaItemGlobalId, parseItemId } from './types.js';

const MediaItemEventTypeEnum = builder.enumType('MediaItemEventType', {
  description: 'RESYNC: your resume point (`after`) was pruned from the log; refetch the library',
  values: ['CREATED', 'UPDATED', 'DELETED', 'THUMBNAIL_READY', 'DOWNLOADED', 'RESYNC'] as const,
});

const MediaItemEventRef = builder.objectRef<LiveEvent>('MediaItemEvent').implement({
  fields: (t) => ({
    // The event vocabulary says UPDATED for thumbnails and downloads; this list keeps the finer name.
    type: t.field({ type: MediaItemEventTypeEnum, resolve: (e) => ((e.data.change as MediaItemEventType | undefined) ?? e.type) as MediaItemEventType | 'RESYNC' }),
    seq: t.string({ nullable: true, description: 'Pass as `after` to resume', resolve: (e) => (e.seq === null ? null : String(e.seq)) }),
    mediaItemId: t.id({ nullable: true, description: 'The Relay id of the item (null for RESYNC)', resolve: (e) => (e.id ? mediaItemGlobalId(e.id) : null) }),
    mediaItemUuid: t.string({ resolve: (e) => e.id }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    mediaItem: t.field({
      type: MediaItemRef,
      nullable: true,
      description: 'The item as it is now; null once deleted',
      resolve: (e, _args, ctx) => (e.type === 'DELETED' || e.type === 'RESYNC' ? null : ctx.services.mediaItems.get(ctx.account.id, e.id)),
    }),
  }),
});

builder.subscriptionField('mediaItemEvents', (t) =>
  t.field({
    type: MediaItemEventRef,
    description: "Changes to the caller's media items, from any gateway or worker, as they commit.",
    args: { id: t.arg.id({ required: false, description: 'Only this item (Relay id or UUID)' }), ...resumeArgs },
    subscribe: (_root, args, ctx) => {
      const id = args.id == null ? undefined : (parseItemId(args.id) ?? 'none');
      return ctx.services.events.subscribe(ctx.account.id, MEDIA_ITEM_TOPIC, { id, ...streamOptions(args.after, ctx) });
    },
    resolve: (event) => event,
  }),
);
