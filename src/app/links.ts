// GraphQL fields that join two domains. Domains never import each other; the
// app, which knows them all, adds the edges between their types here.
import { builder } from '../platform/graphql/builder.js';
import { FetchJobRef } from '../fetch-jobs/graphql/types.js';
import { MediaItemRef } from '../media-items/graphql/types.js';

builder.objectField(FetchJobRef, 'mediaItem', (t) =>
  t.field({
    type: MediaItemRef,
    nullable: true,
    description: 'The media item the job produced (once SUCCESS)',
    resolve: (row, _a, ctx) => (row.mediaItemId ? ctx.services.mediaItems.get(ctx.account.id, row.mediaItemId) : null),
  }),
);
