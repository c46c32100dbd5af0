// The MediaItem object type (a Relay node, loaded account-scoped).
import { builder } from '../../platform/graphql/builder.js';
import { linkLifetimeArgs } from '../../platform/graphql/link-lifetime.js';
import { AccountRef } from '../../platform/graphql/viewer.js';
import { globalId, parseId } from '../../platform/ids.js';
import type { MediaItem } from '../tables.js';

export const MediaItemRef = builder.objectRef<MediaItem>('MediaItem');
export const mediaItemGlobalId = (id: string) => globalId('MediaItem', id);
/** Every id argument takes the Relay id or the UUID. */
export const parseItemId = (raw: string | number) => parseId(raw, 'MediaItem');

builder.node(MediaItemRef, {
  description: 'An item of the media library (audio, images, anything): the reference media library API, camel-cased.',
  id: { resolve: (item) => item.id },
  // Account-scoped: another account's id loads nothing, exactly like a missing one.
  loadMany: (ids, ctx) => ctx.services.mediaItems.getMany(ctx.account.id, ids.map(parseItemId)),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: "The item's UUID (the reference's id); every id argument accepts it or `id`" }),
    originalFileName: t.exposeString('originalFileName'),
    mimeType: t.exposeString('mimeType', { description: 'Sniffed from the content at upload (the client’s claim is ignored); updatable' }),
    account: t.field({ type: AccountRef, resolve: (_item, _args, ctx) => ctx.account }),
    storeId: t.exposeString('storeId', { description: 'Where the content is stored: local, s3 or gs' }),
    maxDownloadsAllowed: t.exposeInt('maxDownloadsAllowed', { nullable: true, description: 'null: unlimited' }),
    timesDownloaded: t.exposeInt('timesDownloaded'),
    etag: t.exposeString('etag'),
    mediaSize: t.exposeFloat('mediaSize', { description: 'Bytes (a Float because sizes pass 2^31)' }),
    sha256: t.exposeString('sha256'),
    width: t.exposeInt('width', { nullable: true, description: 'Images only, after EXIF rotation' }),
    height: t.exposeInt('height', { nullable: true }),
    timeCreated: t.expose('timeCreated', { type: 'DateTime' }),
    timeLastUpdated: t.expose('timeLastUpdated', { type: 'DateTime' }),
    public: t.exposeBoolean('public', { description: 'Downloadable without a key' }),
    metadataPrimary: t.exposeString('metadataPrimary', { nullable: true }),
    metadataSecondary: t.exposeString('metadataSecondary', { nullable: true }),
    title: t.exposeString('title', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    thumbnailUrl: t.string({
      nullable: true,
      description: 'Signed link to a WebP thumbnail (images only); null until it is ready',
      args: linkLifetimeArgs,
      resolve: async (item, args, ctx) => (await ctx.services.mediaItems.thumbnailUrl(item, args.expiresInSeconds))?.url ?? null,
    }),
    downloadUrl: t.string({
      description: 'Signed link to GET /media/:id that works without a key; each completed download counts',
      args: linkLifetimeArgs,
      resolve: (item, args, ctx) => ctx.services.mediaItems.signedDownloadUrl(item, args.expiresInSeconds).url,
    }),
  }),
});

export const MediaItemOrderEnum = builder.enumType('MediaItemOrder', { values: ['ASCENDING', 'DESCENDING'] as const });
