// Every job kind: the platform's and each domain's. Every process declares
// every queue (any process may send); work and all processes also bind the
// handlers.
import type { BackgroundTask, DomainModule } from '../platform/module.js';
import type { JobDefinition } from '../platform/queue/define-job.js';
import type { Services } from '../platform/services.js';
import { bookNextPrune, eventPruneJob } from '../platform/events/prune-job.js';
import { storageDeleteJob } from '../platform/storage/delete-job.js';
import { DOMAINS } from './domains.js';

interface BoundJob {
  definition: JobDefinition;
  /** The service the handler runs with. */
  owner(services: Services): unknown;
}

const JOBS: BoundJob[] = [
  { definition: storageDeleteJob, owner: (s) => s.storage },
  { definition: eventPruneJob, owner: (s) => ({ log: s.events.log, queue: s.queue, retentionSeconds: s.config.eventRetentionSeconds }) },
  ...DOMAINS.flatMap((domain) => (domain.jobs ?? []).map((definition): BoundJob => ({ definition, owner: (s) => s[domain.key] }))),
];

export const JOB_DEFINITIONS: readonly JobDefinition[] = JOBS.map((j) => j.definition);

export async function registerJobs(services: Services, options: { work: boolean }): Promise<void> {
  for (const job of JOBS) await services.queue.register(job.definition, job.owner(services), options);
}

/** The domains' long-running work in processes that run workers. */
export async function startBackground(services: Services): Promise<BackgroundTask[]> {
  const started: BackgroundTask[] = [];
  for (const domain of DOMAINS as readonly DomainModule<any, any>[]) {
    if (domain.background) started.push(await domain.background(services[domain.key as keyof Services], services));
  }
  return started;
}

/** Periodic platform work, booked once the queue runs (duplicates fold into one). */
export async function bookPeriodicJobs(services: Services): Promise<void> {
  await bookNextPrune(services.queue, 60);
}
