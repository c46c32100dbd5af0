// mediaItemEvents: live changes to the caller's library through the events bridge.
import { builder } from '../../platform/graphql/builder.js';
import type { LiveEvent } from '../../platform/events/publish.js';
import { MEDIA_ITEM_TOPIC, type MediaItemEventType } from '../service.js';
import { MediaItemRef, mediaItemGlobalId, parseItemId } from './types.js';

const MediaItemEventTypeEnum = builder.enumType('MediaItemEventType', {
  values: ['CREATED', 'UPDATED', 'DELETED', 'THUMBNAIL_READY', 'DOWNLOADED'] as const,
});

const MediaItemEventRef = builder.objectRef<LiveEvent>('MediaItemEvent').implement({
  fields: (t) => ({
    // The event vocabulary says UPDATED for thumbnails and downloads; this list keeps the finer name.
    type: t.field({ type: MediaItemEventTypeEnum, resolve: (e) => ((e.data.change as MediaItemEventType | undefined) ?? e.type) as MediaItemEventType }),
    mediaItemId: t.id({ description: 'The Relay id of the item', resolve: (e) => mediaItemGlobalId(e.id) }),
    mediaItemUuid: t.string({ resolve: (e) => e.id }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    mediaItem: t.field({
      type: MediaItemRef,
      nullable: true,
      description: 'The item as it is now; null once deleted',
      resolve: (e, _args, ctx) => (e.type === 'DELETED' ? null : ctx.services.mediaItems.get(ctx.account.id, e.id)),
    }),
  }),
});

builder.subscriptionField('mediaItemEvents', (t) =>
  t.field({
    type: MediaItemEventRef,
    description: "Changes to the caller's media items, from any gateway or worker, as they commit.",
    args: { id: t.arg.id({ required: false, description: 'Only this item (Relay id or UUID)' }) },
    subscribe: (_root, args, ctx) => {
      const id = args.id == null ? undefined : (parseItemId(args.id) ?? 'none');
      return ctx.services.events.subscribe(ctx.account.id, MEDIA_ITEM_TOPIC, { id });
    },
    resolve: (event) => event,
  }),
);
