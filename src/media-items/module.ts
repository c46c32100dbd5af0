// The media library as src/app sees it.
import { defineModule } from '../platform/module.js';
import { thumbnailJob } from './jobs.js';
import { mediaItemRoutes } from './routes.js';
import { MediaItemService, type MediaItemDeps } from './service.js';
import './graphql/schema.js';

declare module '../platform/services.js' {
  interface DomainServices {
    /** The account's media library. */
    mediaItems: MediaItemService;
  }
}

export const mediaItemsModule = defineModule({
  key: 'mediaItems',
  create: (deps: MediaItemDeps) => new MediaItemService(deps),
  jobs: [thumbnailJob],
  routes: (service) => mediaItemRoutes(service),
});
