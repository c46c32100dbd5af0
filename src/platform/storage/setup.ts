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

export interface DestinationEndpoint {
  url: string;
  /** S3-compatible endpoint (path-style addressing) or GCS API endpoint; the operator's default when unset. */
  endpoint?: string | null;
  region?: string | null;
}

export type LocalPutHandler = (key: string, result: PutResult) => Promise<void>;
/** Throws an AppError to refuse a signed PUT before anything is stored. */
export type LocalPutGuard = (key: string) => Promise<void>;

export interface Storage {
  /** The STORAGE_URL driver, where the gateway keeps what it stores. */
  driver: StorageDriver;
  /** A driver for another destination (e.g. a download task's s3:// URL); cached per URL. */
  forUrl(storageUrl: string): StorageDriver;
  /** A driver for a destination with its own S3-compatible endpoint and region (MinIO, R2, Spaces). */
  forDestination(destination: DestinationEndpoint): StorageDriver;
  /** Serves /objects/… for local drivers (signed GET/PUT); undefined when nothing is local. */
  localRoute(): NodeRouteHandler | undefined;
  /** Domains learn about direct uploads that landed through the local PUT route. */
  onLocalPut(handler: LocalPutHandler): void;
  /** Domains refuse PUTs to keys whose upload is over (the link itself stays valid until it expires). */
  guardLocalPut(guard: LocalPutGuard): void;
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
  const forDestination = ({ url, endpoint, region }: DestinationEndpoint) => {
    if (!endpoint && !region) return forUrl(url);
    const cacheKey = JSON.stringify([url, endpoint ?? null, region ?? null]);
    let driver = drivers.get(cacheKey);
    if (!driver) {
      driver = createStorageDriver(url, {
        ...deps,
        // Credentials stay the operator's (the SDKs' usual chains); only where to send requests changes.
        s3: { ...deps.s3, endpoint: endpoint ?? deps.s3?.endpoint, region: region ?? deps.s3?.region, forcePathStyle: endpoint ? true : deps.s3?.forcePathStyle },
        gcs: { ...deps.gcs, apiEndpoint: endpoint ?? deps.gcs?.apiEndpoint },
      });
      drivers.set(cacheKey, driver);
    }
    return driver;
  };
  const driver = forUrl(config.storageUrl);
  const putHandlers: LocalPutHandler[] = [];
  const putGuards: LocalPutGuard[] = [];
  let route: NodeRouteHandler | undefined;
  return {
    driver,
    forUrl,
    forDestination,
    onLocalPut: (handler) => void putHandlers.push(handler),
    guardLocalPut: (guard) => void putGuards.push(guard),
    localRoute() {
      if (!(driver instanceof LocalStorageDriver)) return undefined;
      route ??= createLocalObjectRoute(driver, {
        maxBytes: Math.max(config.limits.maxUploadBytes, config.limits.maxFileBytes),
        beforePut: async (key) => {
          for (const guard of putGuards) await guard(key);
        },
        onPut: async (key, result) => {
          for (const handler of putHandlers) await handler(key, result);
        },
      });
      return route;
    },
  };
}
