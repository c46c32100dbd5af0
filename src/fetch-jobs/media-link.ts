// The one place a fetch job hands its stored object to the media library.
// The worker depends on this small port, not on how MediaItemService spells
// its method, so wiring it is a one-line change here.
import type { Tx } from '../db/client.js';
import type { AppServices } from '../services.js';

export interface StoredObject {
  accountId: string;
  /** Already in storage under this key; the media item takes the object over. */
  objectKey: string;
  storageLocation: string;
  /** local, s3 or gs (the driver's storeId) */
  storeId: string;
  size: number;
  etag: string;
  sha256: string;
  mimeType: string;
  originalFileName: string;
  width: number | null;
  height: number | null;
  title: string | null;
  description: string | null;
}

/** What the fetch domain needs from the media library. */
export interface MediaLibraryPort {
  /** Inserts the MediaItem inside the caller's transaction (so SUCCESS and the item commit together). */
  createFromStoredObject(tx: Tx, input: StoredObject): Promise<{ id: string }>;
}

export class MediaLibraryUnavailableError extends Error {
  constructor() {
    super('MediaItemService has no createFromStoredObject(tx, input): the fetch domain cannot register fetched objects yet');
    this.name = 'MediaLibraryUnavailableError';
  }
}

// TODO(media-items): MediaItemService does not offer this method yet; until it
// does, the lookup below finds nothing and jobs fail with INTERNAL after their retries.
export function registerStoredObject(services: Pick<AppServices, 'mediaItems'>, tx: Tx, input: StoredObject): Promise<{ id: string }> {
  const port = services.mediaItems as unknown as Partial<MediaLibraryPort>;
  if (typeof port.createFromStoredObject !== 'function') throw new MediaLibraryUnavailableError();
  return port.createFromStoredObject(tx, input);
}
