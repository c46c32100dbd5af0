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
  FETCH_RETRY_DELAY_SECONDS: z.coerce.number().int().min(0).max(3600).optional(),
  UPLOAD_TTL_SECONDS: seconds.optional(),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  LOG_LEVEL: logLevel.optional(),
  EMBEDDED_PG_PORT: port.optional(),
  WEBHOOK_RETRY_BASE_SECONDS: seconds.optional(),
  WEBHOOK_RETRY_MAX_SECONDS: seconds.optional(),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).optional(),
  JOB_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(60).optional(),
  JOB_STALE_SECONDS: z.coerce.number().int().min(3).max(3600).optional(),
  JOB_MAX_WORKER_LOSSES: z.coerce.number().int().min(0).max(100).optional(),
  SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).optional(),
  TEMP_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).optional(),
} as const;

type Raw = { [K in keyof typeof variables]: z.output<(typeof variables)[K]> };

export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
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
  };
  workerConcurrency: number;
  logLevel: z.output<typeof logLevel>;
  embeddedPgPort: number;
  /** Webhook delivery: retry delay base·2^(n-1) capped at retryMaxSeconds, attempts in all, per-attempt timeout. */
  webhooks: { retryBaseSeconds: number; retryMaxSeconds: number; maxAttempts: number; timeoutMs: number };
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
  const host = r.HOST ?? '127.0.0.1';
  const listenPort = r.PORT ?? 4000;
  const dataDir = path.resolve(r.DATA_DIR ?? './.data');
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
    databaseUrl: r.DATABASE_URL,
    storageUrl: r.STORAGE_URL ?? `file://${path.join(dataDir, 'objects')}`,
    // The AWS SDK's own variable is honoured as the fallback, as its users expect.
    s3: { endpoint: r.S3_ENDPOINT, region: r.S3_REGION ?? env.AWS_REGION ?? undefined, forcePathStyle: r.S3_FORCE_PATH_STYLE ?? false },
    gcs: { emulatorHost: r.STORAGE_EMULATOR_HOST },
    signingSecret: r.SIGNING_SECRET,
    fetchAllowNetworks: r.FETCH_ALLOW_NETWORKS ?? [],
    fetchRetryDelaySeconds: r.FETCH_RETRY_DELAY_SECONDS ?? 2,
    limits: {
      maxUploadBytes: r.MAX_UPLOAD_BYTES ?? 5 * GiB,
      maxFileBytes: r.MAX_FILE_BYTES ?? 50 * 1024 ** 2,
      maxFetchBytes: r.MAX_FETCH_BYTES ?? 5 * GiB,
      uploadTtlSeconds: r.UPLOAD_TTL_SECONDS ?? 3600,
    },
    workerConcurrency: r.WORKER_CONCURRENCY ?? 8,
    logLevel: r.LOG_LEVEL ?? 'info',
    embeddedPgPort: r.EMBEDDED_PG_PORT ?? 0,
    webhooks: { retryBaseSeconds: r.WEBHOOK_RETRY_BASE_SECONDS ?? 5, retryMaxSeconds: r.WEBHOOK_RETRY_MAX_SECONDS ?? 6 * 3600, maxAttempts: r.WEBHOOK_MAX_ATTEMPTS ?? 12, timeoutMs: r.WEBHOOK_TIMEOUT_MS ?? 10_000 },
    liveness: { heartbeatSeconds, staleSeconds, maxWorkerLosses: r.JOB_MAX_WORKER_LOSSES ?? 3 },
    sweep: { intervalSeconds: r.SWEEP_INTERVAL_SECONDS ?? 60, maxAgeSeconds: r.TEMP_MAX_AGE_SECONDS ?? 3600 },
  };
}
