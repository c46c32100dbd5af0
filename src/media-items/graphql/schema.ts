// MediaItem queries; importing this module registers the whole domain's schema.
import { builder } from '../../platform/graphql/builder.js';
import { ValidationError } from '../../platform/errors.js';
import { MAX_PAGE_SIZE } from '../list.js';
import type { MediaItem } from '../tables.js';
import { MediaItemOrderEnum, MediaItemRef, parseItemId } from './types.js';
import './mutations.js';
import './subscriptions.js';

const encodeCursor = (offset: number) => Buffer.from(`media:${offset}`).toString('base64url');
function decodeCursor(cursor: string, field: string): number {
  const m = /^media:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new ValidationError(field, 'not a cursor from this connection');
  return Number(m[1]);
}
function checkCount(value: number | null | undefined, field: string): void {
  if (value != null && (value < 1 || value > MAX_PAGE_SIZE)) throw new ValidationError(field, `must be between 1 and ${MAX_PAGE_SIZE}`);
}

builder.queryField('mediaItems', (t) =>
  t.connection(
    {
      type: MediaItemRef,
      description: "Lists and searches the caller's media library. Page by pageIndex/pageSize (as the reference) or by first/after cursors.",
      args: {
        order: t.arg({ type: MediaItemOrderEnum, required: false, defaultValue: 'DESCENDING', description: 'By time created' }),
        pageIndex: t.arg.int({ required: false, description: '0-based page number' }),
        pageSize: t.arg.int({ required: false, defaultValue: 20, description: `Items per page, 1–${MAX_PAGE_SIZE}` }),
        startTime: t.arg({ type: 'DateTime', required: false, description: 'Created at or after; default one week ago' }),
        endTime: t.arg({ type: 'DateTime', required: false, description: 'Created at or before' }),
        search: t.arg.string({ required: false, description: 'Substring of title, description or original file name (case-insensitive)' }),
        mimeType: t.arg.string({ required: false, description: 'A MIME type or pattern such as image/*' }),
        public: t.arg.boolean({ required: false }),
      },
      resolve: async (_root, args, ctx) => {
        checkCount(args.first, 'first');
        checkCount(args.last, 'last');
        let pageSize = args.first ?? args.pageSize ?? undefined;
        let offset: number | undefined;
        if (args.after) offset = decodeCursor(args.after, 'after') + 1;
        if (args.before != null) {
          const before = decodeCursor(args.before, 'before');
          const want = args.last ?? pageSize ?? 20;
          offset = Math.max(offset ?? 0, before - want);
          pageSize = Math.max(1, Math.min(want, before - offset));
        } else if (args.last != null) throw new ValidationError('last', 'use last together with before');
        const page = await ctx.services.mediaItems.list(ctx.account.id, {
          order: args.order ?? 'DESCENDING',
          pageIndex: args.pageIndex ?? undefined,
          pageSize,
          offset,
          startTime: args.startTime ?? undefined,
          endTime: args.endTime ?? undefined,
          search: args.search ?? undefined,
          mimeType: args.mimeType ?? undefined,
          public: args.public ?? undefined,
        });
        const edges = page.items.map((node, i) => ({ cursor: encodeCursor(page.offset + i), node }));
        const result = {
          edges,
          nodes: page.items,
          pageInfo: {
            hasNextPage: page.offset + edges.length < page.totalCount,
            hasPreviousPage: page.offset > 0,
            startCursor: edges[0]?.cursor ?? null,
            endCursor: edges.at(-1)?.cursor ?? null,
          },
          totalCount: page.totalCount,
          pageIndex: page.pageIndex,
          pageSize: page.pageSize,
        };
        return result;
      },
    },
    {
      name: 'MediaItemConnection',
      fields: (c) => ({
        totalCount: c.int({ description: 'Items matching the filters, across all pages', resolve: (p) => (p as unknown as { totalCount: number }).totalCount }),
        pageIndex: c.int({ resolve: (p) => (p as unknown as { pageIndex: number }).pageIndex }),
        pageSize: c.int({ resolve: (p) => (p as unknown as { pageSize: number }).pageSize }),
        nodes: c.field({ type: [MediaItemRef], resolve: (p) => (p as unknown as { nodes: MediaItem[] }).nodes }),
      }),
    },
  ),
);

builder.queryField('mediaItem', (t) =>
  t.field({
    type: MediaItemRef,
    description: 'One item of your library (NOT_FOUND for unknown ids and other accounts’ items)',
    args: { id: t.arg.id({ description: 'The Relay id or the UUID' }) },
    resolve: (_root, args, ctx) => ctx.services.mediaItems.require(ctx.account.id, parseItemId(args.id), String(args.id)),
  }),
);
