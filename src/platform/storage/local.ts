// Objects on local disk, served by the gateway through HMAC-signed links.
//
// Layout under the root:  data/<key>        the bytes
//                         meta/<key>.json   size, etag (md5), sha256, type
//                         .tmp/             in-flight writes (same file system),
//                                           named <owner>~<uuid>.* so a sweeper can
//                                           tell a dead process's leftovers at once
// Metadata lives in its own tree so no key can collide with a sidecar name.
// A put becomes visible by rename (data first, then meta), so readers never see
// a half-written object; head reads only the small meta file.
import { randomUUID } from 'node:crypto';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type {
  ByteRange,
  GetResult,
  ObjectHead,
  PutOptions,
  PutResult,
  SignedGetOptions,
  SignedPut,
  SignedPutOptions,
  SignedUrl,
  StorageDriver,
} from './driver.js';
import { InvalidKeyError, ObjectNotFoundError } from './errors.js';
import { HashingStream } from './hashing.js';
import { assertExpiry, assertRangeShape, assertValidKey, resolveRange } from './keys.js';
import { signLocalUrl, verifyLocalUrl, type SignedMethod, type VerifyResult } from './local-signing.js';

export interface LocalDriverOptions {
  /** base of signed links, e.g. http://127.0.0.1:4000 */
  publicUrl: string;
  signingSecret: string;
  /** ms clock; tests inject one to exercise expiry */
  now?: () => number;
  /** This process's lease-holder id, the prefix of its temp files (see sweeper.ts). */
  owner?: string;
}

interface StoredMeta {
  size: number;
  etag: string;
  sha256: string;
  contentType?: string;
  contentEncoding?: string;
  lastModified: string;
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

export function localRootFromUrl(location: string): string {
  let root: string;
  try {
    root = fileURLToPath(new URL(location));
  } catch {
    throw new Error(`Invalid local storage URL ${location}: expected file:///absolute/path`);
  }
  if (!path.isAbsolute(root)) throw new Error(`Invalid local storage URL ${location}: path must be absolute`);
  return root;
}

export class LocalStorageDriver implements StorageDriver {
  readonly storeId = 'local' as const;
  readonly root: string;
  private readonly now: () => number;

  constructor(
    readonly location: string,
    private readonly options: LocalDriverOptions,
  ) {
    this.root = localRootFromUrl(location);
    this.now = options.now ?? Date.now;
    if (!options.signingSecret) throw new Error('LocalStorageDriver needs a signingSecret');
  }

  private dataPath(key: string): string {
    return path.join(this.root, 'data', ...key.split('/'));
  }

  private metaPath(key: string): string {
    return `${path.join(this.root, 'meta', ...key.split('/'))}.json`;
  }

  /** Where in-flight writes go; exposed so tests can assert it is left empty. */
  get tempDir(): string {
    return path.join(this.root, '.tmp');
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    await mkdir(this.tempDir, { recursive: true });
    const id = tempName(this.options.owner);
    const tmpData = path.join(this.tempDir, `${id}.data`);
    const tmpMeta = path.join(this.tempDir, `${id}.json`);
    const hasher = new HashingStream({ maxBytes: options.maxBytes, md5: true });
    try {
      // flush: fsync before close, so the rename below never publishes bytes
      // that are still only in the page cache.
      await pipeline(body, hasher, createWriteStream(tmpData, { flags: 'wx', flush: true }));

      const meta: StoredMeta = {
        size: hasher.byteCount,
        etag: hasher.md5Hex,
        sha256: hasher.sha256Hex,
        contentType: options.contentType,
        contentEncoding: options.contentEncoding,
        lastModified: new Date(this.now()).toISOString(),
      };
      await writeDurably(tmpMeta, JSON.stringify(meta));
      const dataPath = this.dataPath(key);
      const metaPath = this.metaPath(key);
      await mkdir(path.dirname(dataPath), { recursive: true });
      await mkdir(path.dirname(metaPath), { recursive: true });
      await rename(tmpData, dataPath);
      await rename(tmpMeta, metaPath);
      return { size: meta.size, etag: meta.etag, sha256: meta.sha256 };
    } catch (err) {
      await rm(tmpData, { force: true });
      await rm(tmpMeta, { force: true });
      // On disk `a` and `a/b` cannot both exist (a file cannot be a directory).
      if (isErrno(err, 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY')) {
        throw new InvalidKeyError(key, 'conflicts with an existing key on local storage');
      }
      throw err;
    }
  }

  private async readMeta(key: string): Promise<StoredMeta | null> {
    try {
      return JSON.parse(await readFile(this.metaPath(key), 'utf8')) as StoredMeta;
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) return null;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    assertValidKey(key);
    const meta = await this.readMeta(key);
    if (!meta) return null;
    return {
      size: meta.size,
      etag: meta.etag,
      contentType: meta.contentType,
      contentEncoding: meta.contentEncoding,
      lastModified: new Date(meta.lastModified),
    };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    assertValidKey(key);
    if (range) assertRangeShape(range);
    const meta = await this.readMeta(key);
    if (!meta) throw new ObjectNotFoundError(key);
    let handle: FileHandle;
    try {
      handle = await open(this.dataPath(key), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      const base = { size: meta.size, etag: meta.etag, contentType: meta.contentType };
      if (!range) return { ...base, body: handle.createReadStream(), contentLength: meta.size };
      const resolved = resolveRange(range, meta.size);
      return {
        ...base,
        body: handle.createReadStream({ start: resolved.start, end: resolved.end }),
        contentLength: resolved.end - resolved.start + 1,
        range: resolved,
      };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Through put, so the copy is published by rename like any write and gets its own hashes. */
  async copy(fromKey: string, toKey: string): Promise<void> {
    assertValidKey(toKey);
    const source = await this.get(fromKey);
    await this.put(toKey, source.body, { contentType: source.contentType });
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    // Meta first: once it is gone head/get answer "missing" even if the data
    // removal below is interrupted.
    await rm(this.metaPath(key), { force: true }).catch(ignoreNotDir);
    await rm(this.dataPath(key), { force: true }).catch(ignoreNotDir);
  }

  private expiry(expiresInSeconds: number): number {
    assertExpiry(expiresInSeconds);
    return Math.floor(this.now() / 1000) + Math.ceil(expiresInSeconds);
  }

  async signedGetUrl(key: string, options: SignedGetOptions): Promise<SignedUrl> {
    assertValidKey(key);
    const expires = this.expiry(options.expiresInSeconds);
    const url = signLocalUrl(this.options.publicUrl, this.options.signingSecret, key, {
      method: 'GET',
      expires,
      filename: options.downloadFileName,
      type: options.contentType,
    });
    return { url, expiresAt: new Date(expires * 1000) };
  }

  async signedPutUrl(key: string, options: SignedPutOptions): Promise<SignedPut> {
    assertValidKey(key);
    const expires = this.expiry(options.expiresInSeconds);
    const url = signLocalUrl(this.options.publicUrl, this.options.signingSecret, key, {
      method: 'PUT',
      expires,
      type: options.contentType,
      length: options.contentLength,
    });
    const headers: Record<string, string> = { 'Content-Type': options.contentType };
    if (options.contentLength !== undefined) headers['Content-Length'] = String(options.contentLength);
    return { url, expiresAt: new Date(expires * 1000), method: 'PUT', headers };
  }

  /** Used by the object route; the clock is the driver's so tests can move it. */
  verifySignedRequest(key: string, query: URLSearchParams, method: SignedMethod): VerifyResult {
    return verifyLocalUrl(this.options.signingSecret, key, query, method, this.now());
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, fsConstants.R_OK | fsConstants.W_OK);
  }
}

/** `<owner>~<uuid>`, or a bare uuid when the process has no lease holder. */
export function tempName(owner: string | undefined): string {
  return owner ? `${owner}${TEMP_OWNER_SEPARATOR}${randomUUID()}` : randomUUID();
}

export const TEMP_OWNER_SEPARATOR = '~';

// Another key's directory in the way means this key does not exist either.
function ignoreNotDir(err: unknown): void {
  if (!isErrno(err, 'ENOTDIR', 'EISDIR', 'ERR_FS_EISDIR')) throw err;
}

async function writeDurably(file: string, contents: string): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
