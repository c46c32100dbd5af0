// The registry of job kinds. Each job-shaped domain registers its kind here
// (from its GraphQL module), so the job core can answer job(id), jobs(…) and
// jobEvents(…) across every kind without importing a domain.
import type { GraphQLContext } from '../platform/graphql/context.js';
import type { JobRow } from './columns.js';
import type { JobTable } from './store.js';

/** The one status vocabulary of the Job interface; each kind maps its own onto it. */
export const JOB_STATUSES = ['PENDING', 'RUNNING', 'SUCCESS', 'FAILED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobKind<Source = unknown> {
  /** FETCH, DOWNLOAD, FILE_PROCESSING … */
  kind: string;
  /** The GraphQL type implementing Job (also the Relay id's type name). */
  typename: string;
  /** Event topic of its rows. */
  topic: string;
  table: JobTable;
  /** Its own statuses, grouped by Job status. */
  statuses: Record<JobStatus, readonly string[]>;
  /** The GraphQL source object for a row (FILE_PROCESSING wraps its file). */
  toSource(row: JobRow): Source;
  /** Whether a GraphQL source object is this kind's (resolves the Job interface). */
  isSource(value: unknown): boolean;
  /** Account-scoped rows by id, in the order asked (null where missing). */
  load(ctx: GraphQLContext, ids: readonly string[]): Promise<(JobRow | null)[]>;
}

const kinds = new Map<string, JobKind>();

export function registerJobKind<Source>(definition: JobKind<Source>): JobKind<Source> {
  kinds.set(definition.kind, definition as JobKind);
  return definition;
}

export const jobKinds = (): JobKind[] => [...kinds.values()];
export const jobKindByTypename = (typename: string): JobKind | undefined => jobKinds().find((k) => k.typename === typename);
export const jobKindByTopic = (topic: string): JobKind | undefined => jobKinds().find((k) => k.topic === topic);

export function jobStatusOf(kind: JobKind, status: string): JobStatus {
  return (JOB_STATUSES.find((s) => kind.statuses[s].includes(status)) ?? 'PENDING') as JobStatus;
}
