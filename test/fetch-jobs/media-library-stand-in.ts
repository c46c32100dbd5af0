// TEST-ONLY STAND-IN — delete this file (and its two imports) once
// MediaItemService.createFromStoredObject(tx, input) exists.
//
// The fetch worker registers fetched objects through MediaLibraryPort
// (src/fetch-jobs/media-link.ts). The media library does not offer that
// method yet, so these tests install a minimal one on the prototype. It does
// nothing when the real method is present.
import type { Tx } from '../../src/db/client.js';
import type { StoredObject } from '../../src/fetch-jobs/media-link.js';
import { MediaItemService } from '../../src/media-items/service.js';
import { mediaItems } from '../../src/media-items/tables.js';

const proto = MediaItemService.prototype as unknown as { createFromStoredObject?: (tx: Tx, input: StoredObject) => Promise<{ id: string }> };
proto.createFromStoredObject ??= async (tx, input) => {
  const [row] = await tx
    .insert(mediaItems)
    .values({
      accountId: input.accountId,
      objectKey: input.objectKey,
      storeId: input.storeId,
      storageLocation: input.storageLocation,
      originalFileName: input.originalFileName,
      mimeType: input.mimeType,
      mediaSize: input.size,
      etag: input.etag,
      sha256: input.sha256,
      width: input.width,
      height: input.height,
      title: input.title,
      description: input.description,
    })
    .returning({ id: mediaItems.id });
  return row;
};
