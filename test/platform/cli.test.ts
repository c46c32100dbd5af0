import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config.js';
import { createTestDatabase } from '../support/db.js';
import { exitCode, KEY_PATTERN, runCli, spawnCli, waitForOutput } from '../support/cli.js';
import { tempDir } from '../support/gateway.js';

const viewerName = async (url: string, key: string) => {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query: '{ viewer { name } }' }) });
  return res.status === 200 ? ((await res.json()) as any).data.viewer.name : res.status;
};

describe('configuration', () => {
  it.each([
    ['PORT', 'abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['STORAGE_URL', 'ftp://bucket'],
    ['PUBLIC_URL', 'not a url'],
    ['MAX_UPLOAD_BYTES', '-5'],
    ['S3_FORCE_PATH_STYLE', 'maybe'],
    ['IMAGE_CONCURRENCY', '0'],
    ['IMAGE_MAX_PIXELS', 'lots'],
    ['MAX_REQUEST_BODY_BYTES', '0'],
    ['MAX_UNAUTHENTICATED_MESSAGE_BYTES', '10'],
    ['MAX_VARIABLE_DEPTH', '1'],
    ['MAX_UPLOAD_FILES', 'many'],
    ['JOB_HEARTBEAT_SECONDS', '0'],
    // Under 3 × the default heartbeat: a slow beat would look like a dead process.
    ['JOB_STALE_SECONDS', '5'],
    ['JOB_MAX_WORKER_LOSSES', '-1'],
    ['SWEEP_INTERVAL_SECONDS', 'often'],
    ['TEMP_MAX_AGE_SECONDS', '0'],
  ])('a bad %s is refused with a message naming it', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrowError(new RegExp(variable));
  });

  it('the CLI exits 2 naming the bad variable', async () => {
    const result = await runCli(['serve'], { PORT: 'seventy' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/PORT/);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('defaults follow the documented table', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.publicUrl).toBe('http://127.0.0.1:4000');
    expect(config.storageUrl).toMatch(/^file:\/\/.*\.data\/objects$/);
    expect(config.images).toEqual({ concurrency: 2, maxSourceBytes: 256 * 1024 ** 2, maxPixels: 100_000_000 });
    expect(config.spoolDir).toMatch(/\.data\/spool$/);
    expect(config.limits).toMatchObject({ maxRequestBodyBytes: 1024 * 1024, maxSocketMessageBytes: 1024 * 1024, maxUnauthenticatedMessageBytes: 4096, maxVariableDepth: 16, maxVariableListLength: 1000, maxUploadFiles: 10, maxUploadRequestBytes: 5 * 1024 ** 3 });
  });
});

describe('CLI', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('--help works on every command', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['work', '--help'], ['all', '--help'], ['migrate', '--help'], ['keys', '--help'], ['keys', 'create', '--help'], ['keys', 'list', '--help'], ['keys', 'revoke', '--help']]) {
      const result = await runCli(args, {});
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).toMatch(/Usage: media-gateway/);
    }
  }, 60_000);

  it('keys create / list / revoke against DATABASE_URL', async () => {
    const env = { DATABASE_URL: database.url };
    const created = await runCli(['keys', 'create', '--account', 'acme', '--label', 'ci'], env);
    expect(created.code).toBe(0);
    const lastLine = created.stdout.trim().split('\n').at(-1)!;
    expect(lastLine).toMatch(new RegExp(`^${KEY_PATTERN.source}$`));
    const keyId = lastLine.split('.')[0]!;

    const listed = await runCli(['keys', 'list', '--account', 'acme'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(keyId);
    expect(listed.stdout).toContain('ci');
    expect(listed.stdout).not.toContain(lastLine.split('.')[1]); // never the secret

    const revoked = await runCli(['keys', 'revoke', keyId], env);
    expect(revoked.code).toBe(0);
    const after = await runCli(['keys', 'list', '--account', 'acme'], env);
    expect(after.stdout.split('\n').find((l) => l.startsWith(keyId))).toMatch(/\d{4}-\d{2}-\d{2}T[^\t]+$/);

    const unknown = await runCli(['keys', 'revoke', 'mgk_ffffffffffffffff'], env);
    expect(unknown.code).toBe(2);
    const noAccount = await runCli(['keys', 'create'], env);
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toMatch(/--account/);
  }, 60_000);
});

describe('npm start on embedded PostgreSQL', () => {
  it('prints a key once, lets the keys CLI attach while running, and reuses the data on restart', async () => {
    const dataDir = tempDir('mg-embedded-');
    const env = { DATA_DIR: dataDir, PORT: '0' };
    try {
      const first = spawnCli(['all'], env);
      const out = await waitForOutput(first, /GraphiQL: /);
      const url = out.match(/listening on (http:\/\/[\d.]+:\d+)/)![1]!;
      const firstKey = out.match(KEY_PATTERN)![0];
      expect(out).toMatch(/Created account "default"/);
      expect(await viewerName(url, firstKey)).toBe('default');

      // A second terminal: the CLI attaches to the running embedded server.
      const created = await runCli(['keys', 'create', '--account', 'default', '--label', 'second terminal'], env);
      expect(created.code).toBe(0);
      const secondKey = created.stdout.trim().split('\n').at(-1)!;
      expect(await viewerName(url, secondKey)).toBe('default');

      first.kill('SIGTERM');
      expect(await exitCode(first)).toBe(0);
      expect(fs.existsSync(`${dataDir}/postgres.json`)).toBe(false); // embedded server stopped with it

      const second = spawnCli(['all'], env);
      const out2 = await waitForOutput(second, /GraphiQL: /);
      const url2 = out2.match(/listening on (http:\/\/[\d.]+:\d+)/)![1]!;
      expect(out2).not.toMatch(KEY_PATTERN);
      expect(await viewerName(url2, firstKey)).toBe('default');
      expect(await viewerName(url2, secondKey)).toBe('default');
      second.kill('SIGINT');
      expect(await exitCode(second)).toBe(0);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
