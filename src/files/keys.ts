// Object keys are derived from the file id alone, so a retried job writes to
// the same key instead of leaving a second copy behind.
export const originalKey = (accountId: string, fileId: string) => `files/${accountId}/${fileId}/original`;
export const thumbnailKey = (accountId: string, fileId: string) => `files/${accountId}/${fileId}/thumbnail.webp`;

export const DEFAULT_CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;

export const LINK_DEFAULT_SECONDS = 3600;
/** S3 refuses presigned links longer than this. */
export const LINK_MAX_SECONDS = 7 * 24 * 3600;

export const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
