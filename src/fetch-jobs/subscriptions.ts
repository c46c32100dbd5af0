// subscription fetchJob(id): the job now, then every state change and progress
// step in order, ending after SUCCESS or FAILED. Events are hints: the row is
// reloaded (scoped to the caller's account) for each.
import { Repeater } from 'graphql-yoga';
import { NotFoundError } from '../errors.js';
import { builder } from '../graphql/builder.js';
import type { GraphQLContext } from '../graphql/context.js';
import { FetchJobRef, parseJobId } from './graphql-types.js';
import { FETCH_JOB_TOPIC } from './state.js';
import type { FetchJobRow, FetchJobStatus } from './tables.js';

const RANK: Record<FetchJobStatus, number> = { PENDING: 0, RUNNING: 1, SUCCESS: 2, FAILED: 2 };
const isStatus = (s: unknown): s is FetchJobStatus => typeof s === 'string' && s in RANK;

/**
 * The row as the event saw it. A fast worker may be further along by the time
 * we reload; the event's own status and byte counts keep the sequence honest.
 */
function asOf(row: FetchJobRow, data: Record<string, unknown>, status: FetchJobStatus): FetchJobRow {
  if (RANK[status] === 2 || row.status === status) return RANK[status] === 2 ? row : { ...row, bytesReceived: Number(data.bytesReceived ?? row.bytesReceived) };
  return { ...row, status, bytesReceived: Number(data.bytesReceived ?? 0), finishedAt: null, mediaItemId: null, errorCode: null, errorMessage: null };
}

function jobChanges(ctx: GraphQLContext, id: string): Repeater<FetchJobRow> {
  const jobs = ctx.services.fetchJobs;
  return new Repeater<FetchJobRow>(async (push, stop) => {
    // Subscribe before reading, so nothing between the read and the first event is lost.
    const source = ctx.services.events.subscribe(ctx.account.id, FETCH_JOB_TOPIC, { id });
    void stop.then(() => source.return(undefined));
    try {
      const current = await jobs.get(ctx.account.id, id);
      if (!current) throw new NotFoundError('Fetch job', id);
      let rank = RANK[current.status];
      let bytes = current.bytesReceived;
      await push(current);
      if (rank === 2) return stop();
      for await (const event of source) {
        const status = event.data.status;
        if (!isStatus(status) || RANK[status] < rank) continue;
        const received = Number(event.data.bytesReceived ?? 0);
        // Same state, no new bytes: nothing a client needs to hear again.
        if (RANK[status] === rank && status !== 'RUNNING') continue;
        if (RANK[status] === rank && received <= bytes && event.type === 'progress') continue;
        const row = await jobs.get(ctx.account.id, id);
        if (!row) return stop();
        rank = RANK[status];
        bytes = received;
        await push(asOf(row, event.data, status));
        if (rank === 2) return stop();
      }
    } catch (err) {
      stop(err);
    }
  });
}

builder.subscriptionFields((t) => ({
  fetchJob: t.field({
    type: FetchJobRef,
    description: 'The job now, then each state change and progress step (at most every 250 ms); completes after SUCCESS or FAILED.',
    args: { id: t.arg.id({ description: 'Relay id or UUID' }) },
    subscribe: (_r, a, ctx) => jobChanges(ctx, parseJobId(a.id)),
    resolve: (row) => row,
  }),
}));
