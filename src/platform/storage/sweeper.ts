// Removes what half-finished writes left behind: temp files of the local store
// and upload spool files, and S3 multipart uploads whose process died. Runs at
// start, every intervalSeconds, and whenever this process finds a dead one.
//
// A temp file named `<holder>~…` belongs to that lease holder: once the holder
// is gone it is removed at once. Any file untouched for maxAgeSeconds is
// removed too (live writers keep writing, and the fetcher's idle timeout ends
// a stalled one long before), which covers files without an owner in their name.
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type postgres from 'postgres';
import type { Logger } from '../logger.js';
import { TEMP_OWNER_SEPARATOR } from './local.js';
import { countFailedAbort, forgetUpload, orphanUploads } from './multipart-ledger.js';
import { S3StorageDriver } from './s3.js';
import type { Storage } from './setup.js';

/** After this many failed aborts an orphan upload is left to the bucket's lifecycle rule. */
const MAX_ABORT_ATTEMPTS = 10;

export interface SweeperDeps {
  sql: postgres.Sql;
  storage: Pick<Storage, 'forUrl'>;
  logger: Logger;
  /** Lease holders alive now. */
  liveOwners(): Promise<Set<string>>;
  /** Directories holding only temporary files: the local store's .tmp, the upload spool. */
  dirs: string[];
  maxAgeSeconds: number;
  intervalSeconds: number;
}

export interface SweepResult {
  files: number;
  bytes: number;
  /** Orphaned multipart uploads aborted. */
  uploads: number;
}

interface Candidate {
  file: string;
  owner: string | undefined;
  size: number;
  modifiedMs: number;
  isDirectory: boolean;
}

const OWNER = new RegExp(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})${TEMP_OWNER_SEPARATOR}`);

export class StorageSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult> | undefined;
  private again = false;

  constructor(private readonly deps: SweeperDeps) {}

  /** Sweeps now and then every intervalSeconds. */
  start(): Promise<SweepResult> {
    this.timer = setInterval(() => void this.run(), this.deps.intervalSeconds * 1000);
    this.timer.unref();
    return this.run();
  }

  stop(): Promise<unknown> {
    clearInterval(this.timer);
    return this.running ?? Promise.resolve();
  }

  /** One sweep; a call during a sweep queues exactly one more. */
  run(): Promise<SweepResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.sweep()
      .catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'sweeping temporary files failed');
        return { files: 0, bytes: 0, uploads: 0 };
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.run();
        }
      });
    return this.running;
  }

  private async sweep(): Promise<SweepResult> {
    const result = { files: 0, bytes: 0, uploads: 0 };
    // List first, then ask who is alive: a file seen here was created after its
    // owner registered, so a live owner is in the answer.
    const candidates = (await Promise.all(this.deps.dirs.map((dir) => list(dir)))).flat();
    const owned = candidates.some((c) => c.owner);
    const live = owned ? await this.deps.liveOwners() : new Set<string>();
    const oldest = Date.now() - this.deps.maxAgeSeconds * 1000;
    // Deepest first, so a directory is looked at after what it held.
    for (const c of candidates.reverse()) {
      const dead = (c.owner !== undefined && !live.has(c.owner)) || c.modifiedMs < oldest;
      if (c.isDirectory) {
        // rmdir refuses a directory that still holds something live.
        if (dead) await rmdir(c.file).catch(() => {});
        continue;
      }
      if (!dead) continue;
      try {
        await rm(c.file, { force: true });
        result.files++;
        result.bytes += c.size;
      } catch (err) {
        this.deps.logger.warn({ err, file: c.file }, 'could not remove a temporary file');
      }
    }
    result.uploads = await this.abortOrphanUploads();
    if (result.files || result.uploads) this.deps.logger.info(result, 'removed what dead or unfinished writes left behind');
    return result;
  }

  private async abortOrphanUploads(): Promise<number> {
    let aborted = 0;
    for (const upload of await orphanUploads(this.deps.sql)) {
      const driver = this.deps.storage.forUrl(upload.location);
      try {
        if (driver instanceof S3StorageDriver) await driver.abortMultipartUpload(upload.objectKey, upload.uploadId);
        await forgetUpload(this.deps.sql, upload);
        aborted++;
      } catch (err) {
        if (upload.failedAborts + 1 >= MAX_ABORT_ATTEMPTS) {
          this.deps.logger.error({ err, upload }, 'giving up aborting an orphaned multipart upload; the bucket lifecycle rule must remove it');
          await forgetUpload(this.deps.sql, upload);
        } else {
          this.deps.logger.warn({ err, upload }, 'could not abort an orphaned multipart upload; will try again');
          await countFailedAbort(this.deps.sql, upload);
        }
      }
    }
    return aborted;
  }
}

/** Every file and directory under dir, parents before children; none when dir does not exist. */
async function list(dir: string, owner?: string): Promise<Candidate[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Candidate[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const stat = await lstat(file).catch(() => undefined);
    if (!stat) continue; // removed meanwhile by its writer
    const fileOwner = OWNER.exec(name)?.[1] ?? owner;
    out.push({ file, owner: fileOwner, size: stat.size, modifiedMs: stat.mtimeMs, isDirectory: stat.isDirectory() });
    if (stat.isDirectory()) out.push(...(await list(file, fileOwner)));
  }
  return out;
}
