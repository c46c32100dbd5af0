// Live file state. Each event is a hint: the row is reloaded (scoped to the
// caller's account), and every state it passed through is delivered in order.
import { Repeater } from 'graphql-yoga';
import { NotFoundError } from '../../platform/errors.js';
import type { LiveEvent } from '../../platform/events/publish.js';
import { builder } from '../../platform/graphql/builder.js';
import { resumeArgs, streamOptions } from '../../platform/graphql/events.js';
import type { GraphQLContext } from '../../platform/graphql/context.js';
import { liveRecord } from '../../jobs/live.js';
import { validateEntityId, type EntityType } from '../entity-types.js';
import { FILE_TOPIC } from '../service.js';
import type { FileRow, FileStatus } from '../tables.js';
import { FileEntityTypeEnum, FileRef } from './types.js';

const RANK: Record<FileStatus, number> = { UPLOADING: 0, UPLOADED: 1, PROCESSING: 2, READY: 3, FAILED: 3 };
const isStatus = (s: unknown): s is FileStatus => typeof s === 'string' && s in RANK;

/**
 * The row as it was in `status`. A fast worker may have moved on before the
 * reload; the processing results only exist in the final states, so an
 * earlier state is the current row without them.
 */
function asOf(row: FileRow, status: FileStatus): FileRow {
  if (status === row.status || RANK[status] === 3) return row;
  return { ...row, status, width: null, height: null, thumbnailKey: null, blurhash: null, dominantColor: null, errorCode: null, errorMessage: null };
}

function entityChanges(ctx: GraphQLContext, entityType: EntityType, entityId: string, after: string | null | undefined): Repeater<FileRow> {
  return new Repeater<FileRow>(async (push, stop) => {
    const source = ctx.services.events.subscribe(ctx.account.id, FILE_TOPIC, streamOptions(after, ctx));
    void stop.then(() => source.return(undefined));
    try {
      for await (const event of source as AsyncIterable<LiveEvent>) {
        const { status } = event.data;
        if (event.data.entityType !== entityType || event.data.entityId !== entityId || !isStatus(status) || event.type === 'DELETED') continue;
        const row = await ctx.services.files.get(ctx.account.id, event.id);
        if (row) await push(asOf(row, status));
      }
    } catch (err) {
      stop(err);
    }
  });
}

builder.subscriptionFields((t) => ({
  file: t.field({
    type: FileRef,
    description: 'The file now, then each state change; completes after READY or FAILED (or deletion).',
    args: { id: t.arg.id(), ...resumeArgs },
    subscribe: (_r, a, ctx) =>
      liveRecord<FileRow>({
        events: ctx.services.events,
        accountId: ctx.account.id,
        topic: FILE_TOPIC,
        id: String(a.id),
        ...streamOptions(a.after, ctx),
        load: () => ctx.services.files.get(ctx.account.id, String(a.id)),
        notFound: () => new NotFoundError('File', String(a.id)),
        rank: RANK,
        final: ['READY', 'FAILED'],
        asOf: (row, event) => asOf(row, event.data.status as FileStatus),
      }),
    resolve: (row) => row,
  }),
  filesByEntity: t.field({
    type: FileRef,
    description: 'Every file of the entity as it changes (created, uploaded, processed, failed).',
    args: { entityType: t.arg({ type: FileEntityTypeEnum }), entityId: t.arg.string(), ...resumeArgs },
    subscribe: (_r, a, ctx) => {
      validateEntityId(a.entityType, a.entityId);
      return entityChanges(ctx, a.entityType, a.entityId, a.after);
    },
    resolve: (row) => row,
  }),
}));
