// Signed webhook deliveries as src/app sees them. Other domains reach
// enqueue() through their own Deps interfaces.
import { defineModule } from '../platform/module.js';
import { startDispatcher } from './dispatch.js';
import { webhookJob } from './jobs.js';
import { WebhookService, type WebhookDeps } from './service.js';
import './graphql.js';

declare module '../platform/services.js' {
  interface DomainServices {
    /** Signed webhook deliveries; other domains call enqueue() in their transaction. */
    webhooks: WebhookService;
  }
}

export const webhooksModule = defineModule({
  key: 'webhooks',
  create: (deps: WebhookDeps) => new WebhookService(deps),
  jobs: [webhookJob],
  // Feeds account endpoints from the event log.
  background: (service, services) => startDispatcher(service.endpoints, services),
});
