// The list/search query: one statement for the page and its total.
import { and, asc, desc, eq, gte, ilike, like, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../platform/db/client.js';
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

export function listWhere(accountId: string, o: ListOptions, now = Date.now()): SQL {
  const startTime = o.startTime ?? new Date(now - WEEK_MS);
  if (o.endTime && startTime > o.endTime) throw new ValidationError('startTime', 'must not be after endTime');
  const where: (SQL | undefined)[] = [eq(mediaItems.accountId, accountId), gte(mediaItems.timeCreated, startTime)];
  if (o.endTime) where.push(lte(mediaItems.timeCreated, o.endTime));
  if (o.search) {
    const pattern = `%${escapeLike(o.search)}%`;
    where.push(or(ilike(mediaItems.title, pattern), ilike(mediaItems.description, pattern), ilike(mediaItems.originalFileName, pattern)));
  }
  if (o.mimeType) {
    checkMimePattern(o.mimeType);
    const m = o.mimeType.trim().toLowerCase();
    if (m !== '*' && m !== '*/*') where.push(m.endsWith('/*') ? like(mediaItems.mimeType, `${escapeLike(m.slice(0, -1))}%`) : eq(mediaItems.mimeType, m));
  }
  if (o.public != null) where.push(eq(mediaItems.public, o.public));
  return and(...where)!;
}

export async function listPage(db: Db, accountId: string, o: ListOptions): Promise<ListPage> {
  const pageSize = o.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new ValidationError('pageSize', `must be between 1 and ${MAX_PAGE_SIZE}`);
  const pageIndex = o.pageIndex ?? 0;
  if (!Number.isSafeInteger(pageIndex) || pageIndex < 0) throw new ValidationError('pageIndex', 'must be 0 or more');
  const offset = o.offset ?? pageIndex * pageSize;
  const where = listWhere(accountId, o);
  const dir = o.order === 'ASCENDING' ? asc : desc;
  const rows = await db
    .select({ item: mediaItems, total: sql<number>`count(*) over()`.mapWith(Number) })
    .from(mediaItems)
    .where(where)
    .orderBy(dir(mediaItems.timeCreated), dir(mediaItems.id))
    .limit(pageSize)
    .offset(offset);
  let totalCount = rows[0]?.total;
  if (totalCount === undefined) {
    // Past the last page the window function has no row to ride on.
    const [row] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(mediaItems).where(where);
    totalCount = row?.n ?? 0;
  }
  return { items: rows.map((r) => r.item), totalCount, offset, pageIndex: Math.floor(offset / pageSize), pageSize };
}
