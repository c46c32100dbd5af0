// The fetch domain as src/app sees it.
import { defineModule } from '../platform/module.js';
import { fetchJob } from './jobs.js';
import { fetchJobRoutes } from './routes.js';
import { FetchJobService, type FetchJobDeps } from './service.js';
import './graphql/schema.js';

declare module '../platform/services.js' {
  interface DomainServices {
    /** Fetching media from URLs into the media library. */
    fetchJobs: FetchJobService;
  }
}

export const fetchJobsModule = defineModule({
  key: 'fetchJobs',
  create: (deps: FetchJobDeps) => new FetchJobService(deps),
  jobs: [fetchJob],
  routes: (service) => fetchJobRoutes(service),
});
