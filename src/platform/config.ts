// The only module that reads process.env. Everything else receives a Config.
import path from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const bytes = z.coerce.number().int().positive();
const seconds = z.coerce.number().int().positive();
const url = z.string().url();
/** Tokens a second; 0 turns the limit off. */
const perSecond = z.coerce.number().min(0).max(1_000_000);
const burst = z.coerce.number().int().min(1).max(1_000_000);
const storageUrl = z
  .string()
  .regex(/^(file|s3|gs):\/\/.+/, 'must start with file://, s3:// or gs://');
const cidrList = z
  .string()
  .transform((s) => s.split(',').map((c) => c.trim()).filter(Boolean));
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

// Each entry: variable name -> schema (undefined when unset).
const variables = {
  PORT: port.optional(),
  HOST: z.string().min(1).optional(),
  PUBLIC_URL: url.optional(),
  DATA_DIR: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  STORAGE_URL: storageUrl.optional(),
  S3_ENDPOINT: url.optional(),
  S3_REGION: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.optional(),
  STORAGE_EMULATOR_HOST: z.string().min(1).optional(),
  SIGNING_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  FETCH_ALLOW_NETWORKS: cidrList.optional(),
  MAX_UPLOAD_BYTES: bytes.optional(),
  MAX_FILE_BYTES: bytes.optional(),
  MAX_FETCH_BYTES: bytes.optional(),
  MAX_UPLOAD_FILES: z.coerce.number().int().min(1).max(1000).optional(),
  MAX_UPLOAD_REQUEST_BYTES: bytes.optional(),
  MAX_REQUEST_BODY_BYTES: bytes.optional(),
  MAX_SOCKET_MESSAGE_BYTES: bytes.optional(),
  MAX_UNAUTHENTICATED_MESSAGE_BYTES: z.coerce.number().int().min(512).optional(),
  MAX_VARIABLE_DEPTH: z.coerce.number().int().min(2).max(1000).optional(),
  MAX_VARIABLE_LIST_LENGTH: z.coerce.number().int().min(1).optional(),
  FETCH_RETRY_DELAY_SECONDS: z.coerce.number().int().min(0).max(3600).optional(),
  UPLOAD_TTL_SECONDS: seconds.optional(),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  IMAGE_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  IMAGE_MAX_SOURCE_BYTES: bytes.optional(),
  IMAGE_MAX_PIXELS: z.coerce.number().int().min(1).max(1_000_000_000).optional(),
  LOG_LEVEL: logLevel.optional(),
  EMBEDDED_PG_PORT: port.optional(),
  WEBHOOK_RETRY_BASE_SECONDS: seconds.optional(),
  WEBHOOK_RETRY_MAX_SECONDS: seconds.optional(),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).optional(),
  WEBHOOK_ENDPOINT_DISABLE_AFTER: z.coerce.number().int().min(1).max(10_000).optional(),
  EVENT_RETENTION_HOURS: z.coerce.number().positive().max(24 * 365).optional(),
  PROXY_DEFAULT: z.string().url().optional(),
  ALLOW_DIRECT_EGRESS: bool.optional(),
  ALLOW_FILE_DESTINATIONS: bool.optional(),
  RATE_LIMIT_HTTP_PER_SECOND: perSecond.optional(),
  RATE_LIMIT_HTTP_BURST: burst.optional(),
  RATE_LIMIT_ANONYMOUS_PER_SECOND: perSecond.optional(),
  RATE_LIMIT_ANONYMOUS_BURST: burst.optional(),
  RATE_LIMIT_SOCKET_OPS_PER_SECOND: perSecond.optional(),
  RATE_LIMIT_SOCKET_OPS_BURST: burst.optional(),
  RATE_LIMIT_FETCH_PER_SECOND: perSecond.optional(),
  RATE_LIMIT_FETCH_BURST: burst.optional(),
  MAX_SOCKETS_PER_KEY: z.coerce.number().int().min(1).max(1_000_000).optional(),
  API_KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).optional(),
  JOB_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(60).optional(),
  JOB_STALE_SECONDS: z.coerce.number().int().min(3).max(3600).optional(),
  JOB_MAX_WORKER_LOSSES: z.coerce.number().int().min(0).max(100).optional(),
  SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).optional(),
  TEMP_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).optional(),
} as const;

// PROXY_<ISO country code>: the HTTP CONNECT proxy a download task for that country leaves through.
const PROXY_VARIABLE = /^PROXY_([A-Z]{2})$/;
const proxyUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http:// proxy URL (credentials allowed)');

type Raw = { [K in keyof typeof variables]: z.output<(typeof variables)[K]> };

export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  /** Multipart file parts wait here while a request runs: `<dataDir>/spool`. */
  spoolDir: string;
  /** undefined: start embedded PostgreSQL under dataDir */
  databaseUrl: string | undefined;
  storageUrl: string;
  s3: { endpoint?: string; region?: string; forcePathStyle: boolean };
  gcs: { emulatorHost?: string };
  /** undefined: generated and kept under dataDir */
  signingSecret: string | undefined;
  fetchAllowNetworks: string[];
  /** First retry delay of a fetch job (doubles each retry); small in tests. */
  fetchRetryDelaySeconds: number;
  limits: {
    maxUploadBytes: number;
    maxFileBytes: number;
    maxFetchBytes: number;
    uploadTtlSeconds: number;
    /** File parts in one multipart request. */
    maxUploadFiles: number;
    /** All file parts of one multipart request together. */
    maxUploadRequestBytes: number;
    /** A JSON (or GET query string) request body, and each multipart field (operations, map). */
    maxRequestBodyBytes: number;
    /** One graphql-ws message on an authenticated socket. */
    maxSocketMessageBytes: number;
    /** One graphql-ws message before the socket has authenticated (connection_init carries only a key). */
    maxUnauthenticatedMessageBytes: number;
    /** How deep objects and lists in GraphQL variables may nest. */
    maxVariableDepth: number;
    /** How many items one list in GraphQL variables may hold. */
    maxVariableListLength: number;
  };
  workerConcurrency: number;
  /**
   * Image decoding (thumbnails, placeholders) in one process, whichever queue
   * asks: at most `concurrency` images at once, sources of at most
   * `maxSourceBytes` bytes and `maxPixels` pixels.
   */
  images: { concurrency: number; maxSourceBytes: number; maxPixels: number };
  logLevel: z.output<typeof logLevel>;
  embeddedPgPort: number;
  /**
   * Token buckets, per gateway process (not shared through PostgreSQL): per API
   * key for HTTP requests, GraphQL operations over graphql-ws and operations
   * that fetch URLs; per client address for requests without a valid key.
   */
  rateLimits: {
    http: { perSecond: number; burst: number };
    anonymous: { perSecond: number; burst: number };
    socketOps: { perSecond: number; burst: number };
    fetch: { perSecond: number; burst: number };
    /** Open graphql-ws sockets one API key may hold on one gateway. */
    maxSocketsPerKey: number;
  };
  /** How long a gateway trusts a cached API key lookup; revocations drop it at once, this bounds a missed one. 0: no cache. */
  apiKeyCacheTtlSeconds: number;
  /** Webhook delivery: retry delay base·2^(n-1) capped at retryMaxSeconds, attempts in all, per-attempt timeout. */
  webhooks: { retryBaseSeconds: number; retryMaxSeconds: number; maxAttempts: number; timeoutMs: number; disableAfterFailures: number };
  /** How long the account event log keeps events for resuming subscribers. */
  eventRetentionSeconds: number;
  /** Download-task egress: CONNECT proxies by country, a default, and whether to go direct without one. */
  egress: { proxies: Record<string, string>; defaultProxy?: string; allowDirect: boolean };
  /** Whether accounts may list file:// download destinations (the operator's disk). */
  allowFileDestinations: boolean;
  /**
   * How a dead process is noticed: every process beats every heartbeatSeconds;
   * one whose database session is gone is dead after two missed beats, one
   * whose beats stopped (hung, cut off) after staleSeconds. Its jobs are then
   * handed back without using a retry, at most maxWorkerLosses times in a row.
   */
  liveness: { heartbeatSeconds: number; staleSeconds: number; maxWorkerLosses: number };
  /** Temp files and upload spools: swept every intervalSeconds; untouched for maxAgeSeconds means abandoned. */
  sweep: { intervalSeconds: number; maxAgeSeconds: number };
}

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = {} as Record<string, unknown>;
  for (const [name, schema] of Object.entries(variables)) {
    const value = env[name];
    const parsed = schema.safeParse(value === '' ? undefined : value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(name, `(${JSON.stringify(value)}): ${issue?.message ?? 'invalid'}`);
    }
    raw[name] = parsed.data;
  }
  const r = raw as Raw;
  const proxies: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const country = PROXY_VARIABLE.exec(name)?.[1];
    if (!country || !value) continue;
    const parsed = proxyUrl.safeParse(value);
    if (!parsed.success) throw new ConfigError(name, `(${JSON.stringify(value)}): ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    proxies[country] = parsed.data;
  }
  const host = r.HOST ?? '127.0.0.1';
  const listenPort = r.PORT ?? 4000;
  const dataDir = path.resolve(r.DATA_DIR ?? './.data');
  const maxUploadBytes = r.MAX_UPLOAD_BYTES ?? 5 * GiB;
  const heartbeatSeconds = r.JOB_HEARTBEAT_SECONDS ?? 3;
  const staleSeconds = r.JOB_STALE_SECONDS ?? 30;
  // Two missed beats must not look stale, or a slow beat would hand live jobs back.
  if (staleSeconds < 3 * heartbeatSeconds) {
    throw new ConfigError('JOB_STALE_SECONDS', `(${staleSeconds}): must be at least 3 × JOB_HEARTBEAT_SECONDS (${3 * heartbeatSeconds})`);
  }
  return {
    host,
    port: listenPort,
    publicUrl: (r.PUBLIC_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${listenPort}`).replace(/\/$/, ''),
    dataDir,
    spoolDir: path.join(dataDir, 'spool'),
    databaseUrl: r.DATABASE_URL,
    storageUrl: r.STORAGE_URL ?? `file://${path.join(dataDir, 'objects')}`,
    // The AWS SDK's own variable is honoured as the fallback, as its users expect.
    s3: { endpoint: r.S3_ENDPOINT, region: r.S3_REGION ?? env.AWS_REGION ?? undefined, forcePathStyle: r.S3_FORCE_PATH_STYLE ?? false },
    gcs: { emulatorHost: r.STORAGE_EMULATOR_HOST },
    signingSecret: r.SIGNING_SECRET,
    fetchAllowNetworks: r.FETCH_ALLOW_NETWORKS ?? [],
    fetchRetryDelaySeconds: r.FETCH_RETRY_DELAY_SECONDS ?? 2,
    limits: {
      maxUploadBytes,
      maxFileBytes: r.MAX_FILE_BYTES ?? 50 * MiB,
      maxFetchBytes: r.MAX_FETCH_BYTES ?? 5 * GiB,
      uploadTtlSeconds: r.UPLOAD_TTL_SECONDS ?? 3600,
      maxUploadFiles: r.MAX_UPLOAD_FILES ?? 10,
      maxUploadRequestBytes: r.MAX_UPLOAD_REQUEST_BYTES ?? maxUploadBytes,
      maxRequestBodyBytes: r.MAX_REQUEST_BODY_BYTES ?? MiB,
      maxSocketMessageBytes: r.MAX_SOCKET_MESSAGE_BYTES ?? MiB,
      maxUnauthenticatedMessageBytes: r.MAX_UNAUTHENTICATED_MESSAGE_BYTES ?? 4 * KiB,
      maxVariableDepth: r.MAX_VARIABLE_DEPTH ?? 16,
      maxVariableListLength: r.MAX_VARIABLE_LIST_LENGTH ?? 1000,
    },
    workerConcurrency: r.WORKER_CONCURRENCY ?? 8,
    images: { concurrency: r.IMAGE_CONCURRENCY ?? 2, maxSourceBytes: r.IMAGE_MAX_SOURCE_BYTES ?? 256 * 1024 ** 2, maxPixels: r.IMAGE_MAX_PIXELS ?? 100_000_000 },
    logLevel: r.LOG_LEVEL ?? 'info',
    embeddedPgPort: r.EMBEDDED_PG_PORT ?? 0,
    eventRetentionSeconds: Math.round((r.EVENT_RETENTION_HOURS ?? 24) * 3600),
    egress: { proxies, defaultProxy: r.PROXY_DEFAULT, allowDirect: r.ALLOW_DIRECT_EGRESS ?? false },
    allowFileDestinations: r.ALLOW_FILE_DESTINATIONS ?? false,
    webhooks: { retryBaseSeconds: r.WEBHOOK_RETRY_BASE_SECONDS ?? 5, retryMaxSeconds: r.WEBHOOK_RETRY_MAX_SECONDS ?? 6 * 3600, maxAttempts: r.WEBHOOK_MAX_ATTEMPTS ?? 12, timeoutMs: r.WEBHOOK_TIMEOUT_MS ?? 10_000, disableAfterFailures: r.WEBHOOK_ENDPOINT_DISABLE_AFTER ?? 10 },
    rateLimits: {
      http: { perSecond: r.RATE_LIMIT_HTTP_PER_SECOND ?? 100, burst: r.RATE_LIMIT_HTTP_BURST ?? 200 },
      anonymous: { perSecond: r.RATE_LIMIT_ANONYMOUS_PER_SECOND ?? 50, burst: r.RATE_LIMIT_ANONYMOUS_BURST ?? 200 },
      socketOps: { perSecond: r.RATE_LIMIT_SOCKET_OPS_PER_SECOND ?? 50, burst: r.RATE_LIMIT_SOCKET_OPS_BURST ?? 100 },
      fetch: { perSecond: r.RATE_LIMIT_FETCH_PER_SECOND ?? 10, burst: r.RATE_LIMIT_FETCH_BURST ?? 100 },
      maxSocketsPerKey: r.MAX_SOCKETS_PER_KEY ?? 100,
    },
    apiKeyCacheTtlSeconds: r.API_KEY_CACHE_TTL_SECONDS ?? 10,
    liveness: { heartbeatSeconds, staleSeconds, maxWorkerLosses: r.JOB_MAX_WORKER_LOSSES ?? 3 },
    sweep: { intervalSeconds: r.SWEEP_INTERVAL_SECONDS ?? 60, maxAgeSeconds: r.TEMP_MAX_AGE_SECONDS ?? 3600 },
  };
}
