// Every HTTP route besides the platform's own: the local store's signed links
// and what each domain declared.
import type { Route } from '../platform/http/router.js';
import type { Services } from '../platform/services.js';
import { DOMAINS } from './domains.js';

export function domainRoutes(services: Services): Route[] {
  const routes: Route[] = [];
  const objects = services.storage.localRoute();
  if (objects) {
    // The route answers its own errors (signed-link codes); the router only dispatches.
    routes.push({ name: 'objects', method: ['GET', 'PUT'], path: '/objects/*', auth: 'none', handle: async ({ req, res }) => void (await objects(req, res)) });
  }
  for (const domain of DOMAINS) {
    const service = services[domain.key];
    routes.push(...((domain.routes as ((s: typeof service, all: Services) => readonly Route[]) | undefined)?.(service, services) ?? []));
  }
  return routes;
}
