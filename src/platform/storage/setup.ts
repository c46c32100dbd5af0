// Builds the process's storage from the config: the default driver, drivers for
// other destinations by URL, and the signing secret for the gateway's own links.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { PutResult, StorageDriver } from './driver.js';
import { createStorageDriver, type StorageDeps } from './index.js';
import { LocalStorageDriver } from './local.js';
import { createLocalObjectRoute, type NodeRouteHandler } from './local-route.js';
import type { MultipartLedger } from './multipart-ledger.js';

export type LocalPutHandler = (key: string, result: PutResult) => Promise<void>;

export interface Storage {
  /** The STORAGE_URL driver, where the gateway keeps what it stores. */
  driver: StorageDriver;
  /** A driver for another destination (e.g. a download task's s3:// URL); cached per URL. */
  forUrl(storageUrl: string): StorageDriver;
  /** Serves /objects/… for local drivers (signed GET/PUT); undefined when nothing is local. */
  localRoute(): NodeRouteHandler | undefined;
  /** Domains learn about direct uploads that landed through the local PUT route. */
  onLocalPut(handler: LocalPutHandler): void;
}

/** SIGNING_SECRET, or one generated once and kept under DATA_DIR (0600). */
export function resolveSigningSecret(config: Pick<Config, 'signingSecret' | 'dataDir'>): string {
  if (config.signingSecret) return config.signingSecret;
  const file = path.join(config.dataDir, 'signing-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    try {
      fs.writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
      return secret;
    } catch {
      return fs.readFileSync(file, 'utf8').trim(); // another process wrote it first
    }
  }
}

export interface StorageOwnership {
  /** This process's lease-holder id (local temp file names). */
  owner?: string;
  /** Where S3 multipart uploads are written down while open. */
  ledger?: MultipartLedger;
}

export function createStorage(config: Config, ownership: StorageOwnership = {}): Storage {
  const deps: StorageDeps = {
    publicUrl: config.publicUrl,
    signingSecret: resolveSigningSecret(config),
    owner: ownership.owner,
    s3: { endpoint: config.s3.endpoint, region: config.s3.region, forcePathStyle: config.s3.forcePathStyle, ledger: ownership.ledger },
    gcs: { apiEndpoint: config.gcs.emulatorHost && !/^https?:\/\//.test(config.gcs.emulatorHost) ? `http://${config.gcs.emulatorHost}` : config.gcs.emulatorHost },
  };
  const drivers = new Map<string, StorageDriver>();
  const forUrl = (storageUrl: string) => {
    let driver = drivers.get(storageUrl);
    if (!driver) {
      driver = createStorageDriver(storageUrl, deps);
      drivers.set(storageUrl, driver);
    }
    return driver;
  };
  const driver = forUrl(config.storageUrl);
  const putHandlers: LocalPutHandler[] = [];
  let route: NodeRouteHandler | undefined;
  return {
    driver,
    forUrl,
    onLocalPut: (handler) => void putHandlers.push(handler),
    localRoute() {
      if (!(driver instanceof LocalStorageDriver)) return undefined;
      route ??= createLocalObjectRoute(driver, {
        maxBytes: Math.max(config.limits.maxUploadBytes, config.limits.maxFileBytes),
        onPut: async (key, result) => {
          for (const handler of putHandlers) await handler(key, result);
        },
      });
      return route;
    },
  };
}
