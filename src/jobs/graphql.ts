// The one job model of the schema: `interface Job` (a Node) that every
// job-shaped type implements, and job(id), jobs(…), subscription job(id) and
// jobEvents(…) across every registered kind. Domains declare
// `interfaces: [JobRef]` on their type and register their kind (kinds.ts);
// src/app calls implementJobSchema() once every domain has loaded.
import { sql } from 'drizzle-orm';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { filter, pipe } from 'graphql-yoga';
import { NotFoundError, ValidationError } from '../platform/errors.js';
import { ALL_TOPICS } from '../platform/events/bridge.js';
import type { LiveEvent } from '../platform/events/publish.js';
import { decodeKeysetCursor, encodeKeysetCursor } from '../platform/db/paging.js';
import { builder } from '../platform/graphql/builder.js';
import { resumeArgs, streamOptions } from '../platform/graphql/events.js';
import { pageArgs } from '../platform/graphql/paging.js';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { globalId } from '../platform/ids.js';
import type { JobRow } from './columns.js';
import { JOB_STAGES } from './columns.js';
import { JOB_STATUSES, jobKindByTopic, jobKindByTypename, jobKinds, jobStatusOf, type JobKind, type JobStatus } from './kinds.js';
import { liveRecord } from './live.js';

export const JobRef = builder.interfaceRef<unknown>('Job');

export const JobStatusEnum = builder.enumType('JobStatus', {
  description: 'PENDING (queued or waiting for its input) → RUNNING → SUCCESS | FAILED',
  values: JOB_STATUSES,
});

export const JobStageEnum = builder.enumType('JobStage', {
  description: 'Where a running job is: QUEUED → RESOLVING → DOWNLOADING → STORING → PROBING → THUMBNAILING → DELIVERING → DONE (kinds skip stages they do not have)',
  values: JOB_STAGES,
});

export const JobErrorRef = builder.objectRef<{ code: string; message: string }>('JobError').implement({
  description: 'Why a job FAILED: a stable code (e.g. URL_NOT_ALLOWED, HTTP_404, MIME_NOT_ACCEPTED, TOO_LARGE, CANCELLED) and a readable message',
  fields: (t) => ({ code: t.exposeString('code'), message: t.exposeString('message') }),
});

function kindOf(source: unknown): JobKind {
  const kind = jobKinds().find((k) => k.isSource(source));
  if (!kind) throw new Error('a Job without a registered kind');
  return kind;
}
const rowOf = (source: unknown): JobRow => ((source as { row?: JobRow }).row ?? source) as JobRow;

const jobEventTypes = builder.objectRef<{ event: LiveEvent; kind: JobKind; source: unknown | null }>('JobEvent');

let implemented = false;

/** Builds the parts that need every kind to have registered. Idempotent. */
export function implementJobSchema(): void {
  if (implemented) return;
  implemented = true;
  const kinds = jobKinds();
  const JobKindEnum = builder.enumType('JobKind', { values: kinds.map((k) => k.kind) as [string, ...string[]] });

  JobRef.implement({
    description: 'Any job-shaped record (a fetch, a download task, the processing of a file), with the same live fields.',
    interfaces: [builder.nodeInterfaceRef()],
    resolveType: (source) => kindOf(source).typename,
    fields: (t) => ({
      kind: t.field({ type: JobKindEnum, resolve: (s) => kindOf(s).kind }),
      status: t.field({ type: JobStatusEnum, resolve: (s) => jobStatusOf(kindOf(s), rowOf(s).status) }),
      stage: t.field({ type: JobStageEnum, resolve: (s) => rowOf(s).stage }),
      bytesReceived: t.float({ resolve: (s) => rowOf(s).bytesReceived }),
      bytesTotal: t.float({ nullable: true, description: 'null while unknown', resolve: (s) => rowOf(s).bytesTotal }),
      attempt: t.int({ description: 'Attempts started so far (retries after transient failures count)', resolve: (s) => rowOf(s).attempts }),
      error: t.field({ type: JobErrorRef, nullable: true, resolve: (s) => { const r = rowOf(s); return r.errorCode || (r.errorMessage && jobStatusOf(kindOf(s), r.status) === 'FAILED') ? { code: r.errorCode ?? 'FAILED', message: r.errorMessage ?? r.errorCode ?? 'failed' } : null; } }),
      createdAt: t.field({ type: 'DateTime', resolve: (s) => rowOf(s).createdAt }),
      updatedAt: t.field({ type: 'DateTime', resolve: (s) => rowOf(s).updatedAt }),
    }),
  });

  jobEventTypes.implement({
    description: 'A change to one of your jobs. `job` is the job as it is now (null once it is gone).',
    fields: (t) => ({
      seq: t.string({ nullable: true, description: 'Pass as `after` to resume; null for PROGRESS', resolve: (e) => (e.event.seq === null ? null : String(e.event.seq)) }),
      type: t.string({ description: 'CREATED, STATE, PROGRESS, UPDATED, DELETED; RESYNC when you must refetch', resolve: (e) => e.event.type }),
      kind: t.field({ type: JobKindEnum, resolve: (e) => e.kind.kind }),
      jobId: t.id({ description: 'The Relay id of the job', resolve: (e) => globalId(e.kind.typename, e.event.id) }),
      status: t.field({ type: JobStatusEnum, nullable: true, description: 'As the event saw it', resolve: (e) => (typeof e.event.data.status === 'string' ? jobStatusOf(e.kind, e.event.data.status) : null) }),
      stage: t.string({ nullable: true, resolve: (e) => (e.event.data.stage as string | undefined) ?? null }),
      bytesReceived: t.float({ nullable: true, resolve: (e) => (e.event.data.bytesReceived as number | undefined) ?? null }),
      bytesTotal: t.float({ nullable: true, resolve: (e) => (e.event.data.bytesTotal as number | undefined) ?? null }),
      at: t.field({ type: 'DateTime', resolve: (e) => e.event.at }),
      job: t.field({ type: JobRef, nullable: true, resolve: (e) => e.source }),
    }),
  });

  builder.queryFields((t) => ({
    job: t.field({
      type: JobRef,
      description: 'Any of your jobs by its id (the Relay id of a FetchJob, DownloadTask or FileProcessing)',
      args: { id: t.arg.id() },
      resolve: async (_r, a, ctx) => {
        const found = await loadJob(ctx, String(a.id));
        if (!found) throw new NotFoundError('Job', String(a.id));
        return found;
      },
    }),
    jobs: t.field({
      type: JobConnection(),
      description: 'Your jobs of every kind, newest first.',
      args: { kinds: t.arg({ type: [JobKindEnum], required: false }), statuses: t.arg({ type: [JobStatusEnum], required: false }), ...pageArgs },
      resolve: (_r, a, ctx) => listJobs(ctx, { kinds: a.kinds ?? undefined, statuses: (a.statuses ?? undefined) as JobStatus[] | undefined, first: a.first ?? 20, after: a.after }) as never,
    }),
  }));

  builder.subscriptionFields((t) => ({
    job: t.field({
      type: JobRef,
      description: 'The job now, then each state change and progress step; completes at SUCCESS or FAILED.',
      args: { id: t.arg.id(), ...resumeArgs },
      subscribe: (_r, a, ctx) => {
        const target = parseJobGlobalId(String(a.id));
        const kind = target?.kind;
        const rank: Record<string, number> = {};
        if (kind) for (const [i, status] of JOB_STATUSES.entries()) for (const own of kind.statuses[status]) rank[own] = Math.min(i, 2);
        return pipe(
          liveRecord<JobRow>({
            events: ctx.services.events,
            accountId: ctx.account.id,
            topic: kind?.topic ?? 'none',
            id: target?.id ?? String(a.id),
            ...streamOptions(a.after, ctx),
            load: async () => (target ? ((await target.kind.load(ctx, [target.id]))[0] ?? undefined) : undefined),
            notFound: () => new NotFoundError('Job', String(a.id)),
            rank,
            final: kind ? [...kind.statuses.SUCCESS, ...kind.statuses.FAILED] : [],
          }),
          // Each pushed row becomes the kind's GraphQL source.
          (source) => mapIterable(source, (row) => kind!.toSource(row)),
        );
      },
      resolve: (source) => source,
    }),
    jobEvents: t.field({
      type: jobEventTypes,
      description: 'Every change to any of your jobs, in commit order (progress steps included, unlogged).',
      args: { kinds: t.arg({ type: [JobKindEnum], required: false }), statuses: t.arg({ type: [JobStatusEnum], required: false }), ...resumeArgs },
      subscribe: (_r, a, ctx) => {
        const wantedKinds = new Set(a.kinds ?? kinds.map((k) => k.kind));
        const wantedStatuses = a.statuses ? new Set<string>(a.statuses) : undefined;
        const source = ctx.services.events.subscribe(ctx.account.id, ALL_TOPICS, streamOptions(a.after, ctx));
        return pipe(
          source,
          filter((event: LiveEvent) => {
            const kind = jobKindByTopic(event.topic);
            if (!kind || !wantedKinds.has(kind.kind)) return false;
            if (!wantedStatuses) return true;
            return typeof event.data.status === 'string' && wantedStatuses.has(jobStatusOf(kind, event.data.status));
          }),
        );
      },
      resolve: async (event: LiveEvent, _a, ctx) => {
        const kind = jobKindByTopic(event.topic)!;
        const row = event.type === 'DELETED' ? null : ((await kind.load(ctx, [event.id]))[0] ?? null);
        return { event, kind, source: row ? kind.toSource(row) : null };
      },
    }),
  }));
}

function mapIterable<T, U>(source: AsyncIterable<T> & { return?: () => unknown }, map: (value: T) => U): AsyncIterableIterator<U> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const next = await iterator.next();
      return next.done ? { done: true, value: undefined } : { done: false, value: map(next.value) };
    },
    async return() {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
  };
}

function parseJobGlobalId(raw: string): { kind: JobKind; id: string } | undefined {
  try {
    const { typename, id } = decodeGlobalID(raw);
    const kind = jobKindByTypename(typename);
    return kind && /^[0-9a-f-]{36}$/i.test(id) ? { kind, id } : undefined;
  } catch {
    return undefined;
  }
}

async function loadJob(ctx: Parameters<JobKind['load']>[0], raw: string): Promise<unknown> {
  const target = parseJobGlobalId(raw);
  if (!target) return null;
  const [row] = await target.kind.load(ctx, [target.id]);
  return row ? target.kind.toSource(row) : null;
}

let connection: ReturnType<typeof builder.connectionObject> | undefined;
function JobConnection() {
  connection ??= builder.connectionObject({
    type: JobRef,
    name: 'JobConnection',
    fields: (c) => ({ nodes: c.field({ type: [JobRef], resolve: (conn) => (conn as unknown as { nodes: unknown[] }).nodes }) }),
  });
  return connection;
}

const JOBS_SCOPE = 'job';

/** One statement over every kind's table (UNION ALL, newest first), then each kind loads its rows. */
async function listJobs(ctx: Parameters<JobKind['load']>[0], q: { kinds?: string[]; statuses?: JobStatus[]; first: number; after?: string | null }) {
  const cursor = q.after ? decodeKeysetCursor(JOBS_SCOPE, q.after) : undefined;
  const kinds = jobKinds().filter((k) => !q.kinds || q.kinds.includes(k.kind));
  if (!kinds.length) throw new ValidationError('kinds', 'names no job kind');
  const parts = kinds.map((kind) => {
    const table = getTableConfig(kind.table as PgTable).name;
    const statuses = (q.statuses ?? JOB_STATUSES).flatMap((s) => kind.statuses[s]);
    return sql`select ${kind.kind}::text as kind, id, created_at, (extract(epoch from created_at) * 1000)::float8 as created_ms from ${sql.identifier(table)} where account_id = ${ctx.account.id} and status = any(${`{${statuses.join(',')}}`}::text[])${
      cursor ? sql` and (created_at, id) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : sql``
    }`;
  });
  const rows = (await ctx.services.database.db.execute(
    sql`${sql.join(parts, sql` union all `)} order by created_at desc, id desc limit ${q.first + 1}`,
  )) as unknown as { kind: string; id: string; created_ms: number }[];
  const page = [...rows].slice(0, q.first);
  const loaded = new Map<string, unknown>();
  for (const kind of kinds) {
    const ids = page.filter((r) => r.kind === kind.kind).map((r) => r.id);
    if (!ids.length) continue;
    (await kind.load(ctx, ids)).forEach((row) => row && loaded.set(`${kind.kind}:${row.id}`, kind.toSource(row)));
  }
  const edges = page
    .map((r) => ({ node: loaded.get(`${r.kind}:${r.id}`), cursor: encodeKeysetCursor(JOBS_SCOPE, { createdAt: new Date(r.created_ms), id: r.id }) }))
    .filter((e) => e.node !== undefined);
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: { hasNextPage: rows.length > q.first, hasPreviousPage: !!q.after, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
