// subscription fetchJob(id): the job now, then every state change and progress
// step in order, ending after SUCCESS or FAILED (the job core's live record).
import { builder } from '../../platform/graphql/builder.js';
import { resumeArgs, streamOptions } from '../../platform/graphql/events.js';
import { NotFoundError } from '../../platform/errors.js';
import { liveRecord } from '../../jobs/live.js';
import { FETCH_JOB_TOPIC } from '../service.js';
import type { FetchJobRow } from '../tables.js';
import { FetchJobRef, parseJobId } from './types.js';

const RANK = { PENDING: 0, RUNNING: 1, SUCCESS: 2, FAILED: 2 };

builder.subscriptionFields((t) => ({
  fetchJob: t.field({
    type: FetchJobRef,
    description: 'The job now, then each state change and progress step (at most every 250 ms); completes after SUCCESS or FAILED.',
    args: { id: t.arg.id({ description: 'Relay id or UUID' }), ...resumeArgs },
    subscribe: (_r, a, ctx) => {
      const id = parseJobId(a.id);
      return liveRecord<FetchJobRow>({
        events: ctx.services.events,
        accountId: ctx.account.id,
        topic: FETCH_JOB_TOPIC,
        id: id ?? String(a.id),
        ...streamOptions(a.after, ctx),
        load: () => (id ? ctx.services.fetchJobs.get(ctx.account.id, id) : Promise.resolve(undefined)),
        notFound: () => new NotFoundError('Fetch job', String(a.id)),
        rank: RANK,
        final: ['SUCCESS', 'FAILED'],
        asOf: (row, event) => {
          const status = event.data.status as FetchJobRow['status'];
          const bytesReceived = Number(event.data.bytesReceived ?? row.bytesReceived);
          if (status === 'SUCCESS' || status === 'FAILED') return row;
          if (row.status === status) return { ...row, bytesReceived };
          return { ...row, status, bytesReceived, finishedAt: null, mediaItemId: null, errorCode: null, errorMessage: null };
        },
      });
    },
    resolve: (row) => row,
  }),
}));
