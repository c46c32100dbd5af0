// The shape of a domain as src/app sees it. A domain folder declares one of
// these in its module.ts: the key its service takes in the service bag, how to
// create the service from the narrow deps it declares itself, its job kinds
// and its HTTP routes. Its tables are found by drizzle-kit (src/*/tables.ts)
// and its GraphQL types register themselves when module.ts imports them.
import type { Route } from './http/router.js';
import type { JobDefinition } from './queue/define-job.js';
import type { DomainServices, Services } from './services.js';

export interface DomainModule<K extends keyof DomainServices = keyof DomainServices, Deps = Services> {
  /** Where the service joins the bag: `ctx.services[key]`. */
  key: K;
  /** Builds the service; `deps` is the bag so far, checked against the domain's own Deps interface. */
  create(deps: Deps): DomainServices[K];
  jobs?: readonly JobDefinition<any, DomainServices[K]>[];
  routes?(service: DomainServices[K], services: Services): readonly Route[];
  /** Long-running work of processes that run workers (e.g. a dispatcher); stopped before the queue. */
  background?(service: DomainServices[K], services: Services): Promise<BackgroundTask>;
}

export interface BackgroundTask {
  stop(): Promise<void>;
}

export function defineModule<K extends keyof DomainServices, Deps>(module: DomainModule<K, Deps>): DomainModule<K, Deps> {
  return module;
}
