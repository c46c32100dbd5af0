// Download tasks (the media-download-async reference) as src/app sees them.
import { defineModule } from '../platform/module.js';
import { downloadTaskJob } from './jobs.js';
import { DownloadTaskService, type DownloadTaskDeps } from './service.js';
import './graphql/schema.js';

declare module '../platform/services.js' {
  interface DomainServices {
    /** Downloading media URLs into storage destinations. */
    downloadTasks: DownloadTaskService;
  }
}

export const downloadTasksModule = defineModule({
  key: 'downloadTasks',
  create: (deps: DownloadTaskDeps) => new DownloadTaskService(deps),
  jobs: [downloadTaskJob],
});
