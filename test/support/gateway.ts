// A real gateway (HTTP on port 0, real PostgreSQL) started in-process for a test file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startRuntime, type Mode, type Runtime } from '../../src/app/runtime.js';
import { createTestDatabase } from './db.js';

export interface TestGateway {
  url: string;
  graphqlUrl: string;
  runtime: Runtime;
  config: Config;
  databaseUrl: string;
  /** Creates (or reuses) an account and returns a fresh key for it. */
  keyFor(accountName: string): Promise<{ key: string; keyId: string; accountId: string }>;
  close(): Promise<void>;
}

export function tempDir(prefix = 'mg-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export async function startTestGateway(options: { mode?: Mode; env?: Record<string, string>; databaseUrl?: string; dataDir?: string } = {}): Promise<TestGateway> {
  const database = options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? database!.url;
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({ DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...options.env });
  const runtime = await startRuntime(config, options.mode ?? 'all', createLogger({ logLevel: process.env.TEST_LOG_LEVEL as never ?? 'silent' }));
  const url = runtime.app?.url ?? '';
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    runtime,
    config,
    databaseUrl,
    async keyFor(accountName) {
      const { account } = await runtime.services.accounts.ensureAccount(accountName);
      const { id, key } = await runtime.services.accounts.createKey(account.id, 'test');
      return { key, keyId: id, accountId: account.id };
    },
    async close() {
      await runtime.stop();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** POST a GraphQL operation; returns status and parsed body. */
export async function gql<T = any>(gateway: Pick<TestGateway, 'graphqlUrl'>, headers: Record<string, string>, query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: { data?: T; errors?: { message: string; extensions?: Record<string, any> }[]; error?: { code: string; message: string } } }> {
  const res = await fetch(gateway.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as never };
}
