// Picks the driver from a storage URL; the rest of the app sees StorageDriver.
import type { StorageDriver } from './driver.js';
import { GcsStorageDriver, type GcsOptions } from './gcs.js';
import { LocalStorageDriver } from './local.js';
import { S3StorageDriver, type S3Options } from './s3.js';

export interface StorageDeps {
  /** base of the gateway's own signed links (local driver) */
  publicUrl: string;
  signingSecret: string;
  s3?: S3Options;
  gcs?: GcsOptions;
  /** This process's lease-holder id: names local temp files so a sweeper knows whose they are. */
  owner?: string;
}

export function createStorageDriver(storageUrl: string, deps: StorageDeps): StorageDriver {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(storageUrl)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'file':
      return new LocalStorageDriver(storageUrl, { publicUrl: deps.publicUrl, signingSecret: deps.signingSecret, owner: deps.owner });
    case 's3':
      return new S3StorageDriver(storageUrl, deps.s3);
    case 'gs':
      return new GcsStorageDriver(storageUrl, deps.gcs);
    default:
      throw new Error(`Unsupported storage URL ${JSON.stringify(storageUrl)}: expected file://, s3:// or gs://`);
  }
}

export type * from './driver.js';
export * from './errors.js';
export { HashingStream } from './hashing.js';
export { assertValidKey } from './keys.js';
export { LocalStorageDriver, type LocalDriverOptions } from './local.js';
export { createLocalObjectRoute, type LocalObjectRouteHooks, type NodeRouteHandler } from './local-route.js';
export { S3StorageDriver, type S3Options } from './s3.js';
export { GcsStorageDriver, type GcsOptions } from './gcs.js';
