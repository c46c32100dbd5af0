// The list/search query: one statement for the page and its total.
import type postgres from 'postgres';
import { rawSelect } from '../platform/db/raw-select.js';
import { ValidationError } from '../platform/errors.js';
import { mediaItems, type MediaItem } from './tables.js';
import { checkMimePattern } from './validation.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

export interface ListOptions {
  order?: 'ASCENDING' | 'DESCENDING';
  /** 0-based, as in the reference's responses */
  pageIndex?: number;
  pageSize?: number;
  /** Absolute row offset; cursors carry it and it wins over pageIndex. */
  offset?: number;
  /** Omitted: one week ago, as the reference says. */
  startTime?: Date;
  endTime?: Date;
  search?: string;
  mimeType?: string;
  public?: boolean;
}

export interface ListPage {
  items: MediaItem[];
  totalCount: number;
  offset: number;
  pageIndex: number;
  pageSize: number;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const selectItem = rawSelect(mediaItems);

/** The filters as postgres.js fragments; every one is scoped to the account. */
function listWhere(sql: postgres.Sql, accountId: string, o: ListOptions, now = Date.now()): postgres.PendingQuery<postgres.Row[]> {
  const startTime = o.startTime ?? new Date(now - WEEK_MS);
  if (o.endTime && startTime > o.endTime) throw new ValidationError('startTime', 'must not be after endTime');
  const empty = sql``;
  let mime = empty;
  if (o.mimeType) {
    checkMimePattern(o.mimeType);
    const m = o.mimeType.trim().toLowerCase();
    if (m !== '*' && m !== '*/*') mime = m.endsWith('/*') ? sql`and mime_type like ${`${escapeLike(m.slice(0, -1))}%`}` : sql`and mime_type = ${m}`;
  }
  const pattern = o.search ? `%${escapeLike(o.search)}%` : undefined;
  return sql`account_id = ${accountId} and time_created >= ${startTime.toISOString()}
    ${o.endTime ? sql`and time_created <= ${o.endTime.toISOString()}` : empty}
    ${pattern ? sql`and (title ilike ${pattern} or description ilike ${pattern} or original_file_name ilike ${pattern})` : empty}
    ${mime}
    ${o.public != null ? sql`and public = ${o.public}` : empty}`;
}

/** One statement for the page and its total (a second only past the last page). */
export async function listPage(sql: postgres.Sql, accountId: string, o: ListOptions): Promise<ListPage> {
  const pageSize = o.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new ValidationError('pageSize', `must be between 1 and ${MAX_PAGE_SIZE}`);
  const pageIndex = o.pageIndex ?? 0;
  if (!Number.isSafeInteger(pageIndex) || pageIndex < 0) throw new ValidationError('pageIndex', 'must be 0 or more');
  const offset = o.offset ?? pageIndex * pageSize;
  const order = o.order === 'ASCENDING' ? sql`time_created asc, id asc` : sql`time_created desc, id desc`;
  const rows = await sql`
    select ${sql.unsafe(selectItem.columns)}, count(*) over() as total_matching
    from media_items where ${listWhere(sql, accountId, o)}
    order by ${order} limit ${pageSize} offset ${offset}`;
  let totalCount = rows[0] ? Number(rows[0].total_matching) : undefined;
  if (totalCount === undefined) {
    // Past the last page the window function has no row to ride on.
    const [row] = await sql`select count(*)::int as n from media_items where ${listWhere(sql, accountId, o)}`;
    totalCount = Number(row?.n ?? 0);
  }
  return { items: rows.map((r) => selectItem.map(r)), totalCount, offset, pageIndex: Math.floor(offset / pageSize), pageSize };
}
