// A task as the media-download-async reference shows it (snake_case, its
// state vocabulary), for callbacks and for the reference's REST routes.
import type { DownloadTaskRow } from './tables.js';

/** The reference's lower-case states; FAILED is its "error". */
export const REFERENCE_STATE = { PENDING: 'pending', IN_PROGRESS: 'in_progress', SUCCESS: 'success', FAILED: 'error' } as const;

export function referenceInput(row: DownloadTaskRow): Record<string, unknown> {
  const { input } = row;
  return {
    url: input.url,
    country: input.country,
    locale: input.locale,
    expected_mime_types: input.expectedMimeTypes,
    storage: input.storage ? { url: input.storage.url, type: input.storage.type === 'GS' ? 'gs' : input.storage.type === 'S3' ? 's3' : 'local', object_name: input.storage.objectName } : null,
    storage_compress: input.storageCompress,
    callback_url: input.callbackUrl,
  };
}

export function referenceTask(row: DownloadTaskRow, publicUrl: string): Record<string, unknown> {
  return {
    id: row.id,
    state: REFERENCE_STATE[row.status],
    created_at: row.createdAt.toISOString(),
    modified_at: row.updatedAt.toISOString(),
    account_name: row.accountName,
    api_type: 'media',
    input: referenceInput(row),
    status_url: `${publicUrl}/v1/tasks/${row.id}`,
    output_url: row.result?.url ?? null,
    error: row.errorMessage,
    error_type: row.errorCode,
  };
}
