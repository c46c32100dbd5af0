// The record of S3 multipart uploads this process has open. A put aborts its
// own upload when it fails, but a killed process cannot; its parts would stay
// (invisible, billed) until a bucket lifecycle rule expires them. Each upload
// is written down, under this process's lease holder, before its first part
// is sent and crossed out when it is completed or aborted; the sweeper aborts
// the ones whose holder died (holder_id set null by the cascade).
import type postgres from 'postgres';

export interface MultipartLedger {
  /** Must succeed before any part is sent; the upload is aborted otherwise. */
  opened(location: string, objectKey: string, uploadId: string): Promise<void>;
  /** Completed, or aborted (or already gone). */
  closed(location: string, uploadId: string): Promise<void>;
  /** This process could not abort it: leave it to the sweeper. */
  abandoned(location: string, uploadId: string): Promise<void>;
}

export function databaseLedger(sql: postgres.Sql, holderId: string): MultipartLedger {
  return {
    async opened(location, objectKey, uploadId) {
      await sql`insert into storage_multipart_uploads (location, upload_id, object_key, holder_id) values (${location}, ${uploadId}, ${objectKey}, ${holderId})`;
    },
    async closed(location, uploadId) {
      await sql`delete from storage_multipart_uploads where location = ${location} and upload_id = ${uploadId}`;
    },
    async abandoned(location, uploadId) {
      await sql`update storage_multipart_uploads set holder_id = null where location = ${location} and upload_id = ${uploadId}`;
    },
  };
}

export interface OrphanUpload {
  location: string;
  uploadId: string;
  objectKey: string;
  failedAborts: number;
}

/** Uploads no live process owns, oldest first. */
export async function orphanUploads(sql: postgres.Sql, limit = 100): Promise<OrphanUpload[]> {
  return sql<OrphanUpload[]>`
    select location, upload_id as "uploadId", object_key as "objectKey", failed_aborts as "failedAborts"
    from storage_multipart_uploads where holder_id is null order by started_at limit ${limit}`;
}

export async function forgetUpload(sql: postgres.Sql, upload: Pick<OrphanUpload, 'location' | 'uploadId'>): Promise<void> {
  await sql`delete from storage_multipart_uploads where location = ${upload.location} and upload_id = ${upload.uploadId}`;
}

export async function countFailedAbort(sql: postgres.Sql, upload: Pick<OrphanUpload, 'location' | 'uploadId'>): Promise<void> {
  await sql`update storage_multipart_uploads set failed_aborts = failed_aborts + 1 where location = ${upload.location} and upload_id = ${upload.uploadId}`;
}
