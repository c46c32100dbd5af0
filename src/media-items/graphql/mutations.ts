// Upload, update and delete. Expected failures are thrown as AppErrors and
// reach clients with their stable extensions.code.
import { builder } from '../../platform/graphql/builder.js';
import { MediaItemRef, mediaItemGlobalId, parseItemId } from './types.js';

const UploadMediaItemInput = builder.inputType('UploadMediaItemInput', {
  fields: (t) => ({
    file: t.field({
      type: 'Upload',
      description: 'The content, as a multipart file part; its name is kept as originalFileName (at most MAX_UPLOAD_BYTES)',
      extensions: { uploadLimit: 'maxUploadBytes' },
    }),
    title: t.string({ required: false }),
    description: t.string({ required: false }),
    public: t.boolean({ required: false, defaultValue: false, description: 'Downloadable without a key' }),
    metadataPrimary: t.string({ required: false }),
    metadataSecondary: t.string({ required: false }),
    maxDownloadsAllowed: t.int({ required: false, description: 'null or omitted: unlimited' }),
  }),
});

const UpdateMediaItemInput = builder.inputType('UpdateMediaItemInput', {
  description: 'Omitted fields stay as they are; null clears a text field, and null maxDownloadsAllowed means unlimited.',
  fields: (t) => ({
    public: t.boolean({ required: false }),
    metadataPrimary: t.string({ required: false }),
    metadataSecondary: t.string({ required: false }),
    title: t.string({ required: false }),
    description: t.string({ required: false }),
    mimeType: t.string({ required: false, description: 'A concrete type such as audio/wav' }),
    maxDownloadsAllowed: t.int({ required: false }),
  }),
});

builder.mutationField('uploadMediaItem', (t) =>
  t.field({
    type: MediaItemRef,
    description: 'Adds a file to your media library (GraphQL multipart request). Its MIME type is sniffed from the bytes.',
    args: { input: t.arg({ type: UploadMediaItemInput }) },
    resolve: (_root, { input }, ctx) => {
      const { file, ...rest } = input;
      return ctx.services.mediaItems.upload(ctx.account.id, file, rest);
    },
  }),
);

builder.mutationField('updateMediaItem', (t) =>
  t.field({
    type: MediaItemRef,
    args: { id: t.arg.id({ description: 'The Relay id or the UUID' }), input: t.arg({ type: UpdateMediaItemInput }) },
    resolve: (_root, { id, input }, ctx) => ctx.services.mediaItems.update(ctx.account.id, parseItemId(id), input, String(id)),
  }),
);

builder.mutationField('deleteMediaItem', (t) =>
  t.field({
    type: 'ID',
    description: 'Deletes the item at once and its stored objects shortly after; returns the deleted Relay id.',
    args: { id: t.arg.id({ description: 'The Relay id or the UUID' }) },
    resolve: async (_root, { id }, ctx) => mediaItemGlobalId((await ctx.services.mediaItems.delete(ctx.account.id, parseItemId(id), String(id))).id),
  }),
);
