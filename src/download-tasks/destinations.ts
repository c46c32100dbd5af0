// Destination URLs of download tasks: s3://bucket/prefix/, gs://bucket/prefix/
// (gcs:// is an alias), or file:///path/ when the operator allows it. Each
// account may only write inside destinations on its allow-list.
import { and, eq } from 'drizzle-orm';
import type { Db } from '../platform/db/client.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import { validateUrlArgument } from '../platform/net/index.js';
import { storageDestinations, type StorageDestination, type StorageType } from './tables.js';

export interface ParsedDestination {
  type: StorageType;
  /** Normalised, ending in "/": what the allow-list stores and compares. */
  url: string;
}

const TYPE_OF: Record<string, StorageType> = { 's3:': 'S3', 'gs:': 'GS', 'gcs:': 'GS', 'file:': 'LOCAL' };

export function parseDestinationUrl(raw: string, field: string, options: { allowFile: boolean }): ParsedDestination {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ValidationError(field, `"${raw}" is not a storage URL like s3://bucket/prefix/`);
  }
  const type = TYPE_OF[url.protocol];
  if (!type) throw new ValidationError(field, `unknown storage scheme "${url.protocol}" (use s3://, gs:// or gcs://${options.allowFile ? ', or file://' : ''})`);
  if (type === 'LOCAL' && !options.allowFile) throw new ValidationError(field, 'file:// destinations are not enabled on this gateway (ALLOW_FILE_DESTINATIONS)');
  if (type !== 'LOCAL' && !url.hostname) throw new ValidationError(field, 'names no bucket');
  if (url.username || url.password || url.search || url.hash) throw new ValidationError(field, 'must not carry credentials, a query or a fragment');
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new ValidationError(field, 'has a malformed path');
  }
  if (path.split('/').some((segment) => segment === '..' || segment === '.') || /[\u0000-\u001f\u007f\\]/.test(path)) {
    throw new ValidationError(field, 'has a "..", "." or control character in its path');
  }
  const scheme = type === 'S3' ? 's3' : type === 'GS' ? 'gs' : 'file';
  const prefix = path.replace(/\/+$/, '');
  const normalised = type === 'LOCAL' ? `file://${prefix}/` : `${scheme}://${url.hostname.toLowerCase()}${prefix}/`;
  return { type, url: normalised };
}

/** Whether `target` lies inside the allow-listed `entry` (both normalised). */
export function coveredBy(entry: string, target: string): boolean {
  return target.startsWith(entry);
}

export function validateObjectName(name: string, field = 'storage.objectName'): string {
  if (name.length === 0 || name.length > 512) throw new ValidationError(field, 'must be 1 to 512 characters');
  if (name.startsWith('/')) throw new ValidationError(field, 'must not start with "/"');
  if (/[\u0000-\u001f\u007f\\]/.test(name)) throw new ValidationError(field, 'must not contain control characters or backslashes');
  if (name.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) throw new ValidationError(field, 'must not contain "..", "." or empty path segments');
  return name;
}

/** An account's allow-list of download destinations (also used by the CLI). */
export class DestinationAllowList {
  constructor(private readonly deps: { database: { db: Db }; config: { allowFileDestinations: boolean } }) {}

  private get db() {
    return this.deps.database.db;
  }

  list(accountId: string): Promise<StorageDestination[]> {
    return this.db.select().from(storageDestinations).where(eq(storageDestinations.accountId, accountId)).orderBy(storageDestinations.createdAt);
  }

  /** Adding a URL again updates its endpoint and region. */
  async add(accountId: string, input: { url: string; endpoint?: string | null; region?: string | null }): Promise<StorageDestination> {
    const parsed = parseDestinationUrl(input.url, 'url', { allowFile: this.deps.config.allowFileDestinations });
    if (input.endpoint) validateUrlArgument(input.endpoint, 'endpoint', { maxLength: 2048 });
    if (input.region != null && !/^[a-z0-9-]{1,64}$/i.test(input.region)) throw new ValidationError('region', 'must be a region name like us-east-1 or auto');
    const values = { accountId, url: parsed.url, type: parsed.type, endpoint: input.endpoint ?? null, region: input.region ?? null };
    const [row] = await this.db
      .insert(storageDestinations)
      .values(values)
      .onConflictDoUpdate({ target: [storageDestinations.accountId, storageDestinations.url], set: { endpoint: values.endpoint, region: values.region } })
      .returning();
    return row!;
  }

  /** By id or by URL; NOT_FOUND when the account has no such entry. */
  async remove(accountId: string, idOrUrl: string): Promise<StorageDestination> {
    const byId = isUuid(idOrUrl);
    const url = byId ? undefined : parseDestinationUrl(idOrUrl, 'url', { allowFile: true }).url;
    const [row] = await this.db
      .delete(storageDestinations)
      .where(and(eq(storageDestinations.accountId, accountId), byId ? eq(storageDestinations.id, idOrUrl) : eq(storageDestinations.url, url!)))
      .returning();
    if (!row) throw new NotFoundError('Storage destination', idOrUrl);
    return row;
  }

  /** The most specific entry covering `target`, or FORBIDDEN. */
  async covering(accountId: string, target: string): Promise<StorageDestination> {
    const entry = (await this.list(accountId)).filter((d) => coveredBy(d.url, target)).sort((a, b) => b.url.length - a.url.length)[0];
    if (!entry) throw new ForbiddenError(`${target} is not among this account's storage destinations (add it with addStorageDestination or media-gateway destinations add)`);
    return entry;
  }
}
