// Files attached to business entities, as src/app sees them.
import { defineModule } from '../platform/module.js';
import { fileProcessJob, fileSweepJob } from './jobs.js';
import { FileService, type FileDeps } from './service.js';
import './graphql/schema.js';

declare module '../platform/services.js' {
  interface DomainServices {
    /** Files attached to business entities. */
    files: FileService;
  }
}

export const filesModule = defineModule({
  key: 'files',
  create: (deps: FileDeps) => new FileService(deps),
  jobs: [fileProcessJob, fileSweepJob],
});
