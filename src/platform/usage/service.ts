// Reads an account's usage (tables.ts; the triggers keep it exact).
import type postgres from 'postgres';

export interface Usage {
  mediaItems: number;
  files: number;
  /** Bytes of the media library and entity files in the gateway's storage. */
  bytesStored: number;
  /** Completed media downloads since midnight UTC. */
  downloadsToday: number;
  jobsRunning: number;
  jobsQueued: number;
}

export class UsageService {
  constructor(private readonly sql: postgres.Sql) {}

  async get(accountId: string): Promise<Usage> {
    const [row] = await this.sql<Record<keyof Usage, string | number | bigint>[]>`
      select media_items as "mediaItems", files, bytes_stored as "bytesStored",
        case when downloads_day = (now() at time zone 'UTC')::date then downloads_today else 0 end as "downloadsToday",
        jobs_running as "jobsRunning", jobs_queued as "jobsQueued"
      from account_usage where account_id = ${accountId}`;
    const n = (v: string | number | bigint | undefined) => Number(v ?? 0);
    return { mediaItems: n(row?.mediaItems), files: n(row?.files), bytesStored: n(row?.bytesStored), downloadsToday: n(row?.downloadsToday), jobsRunning: n(row?.jobsRunning), jobsQueued: n(row?.jobsQueued) };
  }
}
