// The one place a fetch job hands its stored object to the media library,
// through that domain's service, inside the job's completing transaction.
import type { Tx } from '../db/client.js';
import type { StoredMediaObject } from '../media-items/service.js';
import type { AppServices } from '../services.js';

export type StoredObject = StoredMediaObject;

export function registerStoredObject(services: Pick<AppServices, 'mediaItems'>, tx: Tx, input: StoredObject): Promise<{ id: string }> {
  return services.mediaItems.createFromStoredObject(tx, input);
}
