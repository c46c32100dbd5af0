// The one list of domains. Order matters only for creation: a domain comes
// after the domains its Deps name (fetch jobs need media items and webhooks).
// Adding a domain is one folder with a module.ts, plus one line here.
import { downloadTasksModule } from '../download-tasks/module.js';
import { fetchJobsModule } from '../fetch-jobs/module.js';
import { filesModule } from '../files/module.js';
import { mediaItemsModule } from '../media-items/module.js';
import { webhooksModule } from '../webhooks/module.js';

export const DOMAINS = [webhooksModule, mediaItemsModule, filesModule, fetchJobsModule, downloadTasksModule] as const;
