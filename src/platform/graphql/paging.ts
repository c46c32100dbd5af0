// Relay connections from pages: every list answers with edges, nodes and
// pageInfo (and totalCount where counting is cheap).
import type { ObjectRef } from '@pothos/core';
import { z } from 'zod';
import type { KeysetPage } from '../db/paging.js';
import { builder, type Types } from './builder.js';

export interface Connection<Row> {
  edges: { node: Row; cursor: string }[];
  nodes: Row[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export function keysetConnection<Row>(page: KeysetPage<Row>, after: string | null | undefined): Connection<Row> {
  const edges = page.rows.map((node) => ({ node, cursor: page.cursorOf(node) }));
  return {
    edges,
    nodes: page.rows,
    pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: !!after, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/** The connection type of a list: edges, nodes and pageInfo, the same on every list. */
export function connectionType<Row>(ref: ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<Types>, Row>, name: string) {
  return builder.connectionObject({
    type: ref,
    name,
    fields: (c) => ({ nodes: c.field({ type: [ref], resolve: (conn) => (conn as unknown as Connection<Row>).nodes }) }),
  });
}

export const MAX_PAGE_SIZE = 100;

/** `first` and `after`, the same on every keyset list. */
export const pageArgs = builder.args((t) => ({
  first: t.int({ required: false, defaultValue: 20, description: `Rows per page, 1–${MAX_PAGE_SIZE}`, validate: z.number().int().min(1).max(MAX_PAGE_SIZE).nullish() }),
  after: t.string({ required: false, description: 'pageInfo.endCursor of the previous page' }),
}));
