import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve' });
});
afterAll(() => gateway?.close());

describe('storage inside the gateway', () => {
  it('defaults to local disk under DATA_DIR and serves its signed links at /objects', async () => {
    const { driver } = gateway.runtime.services.storage;
    expect(driver.storeId).toBe('local');
    expect(driver.location).toContain(gateway.config.dataDir);
    await driver.put('probe/hello.txt', Readable.from([Buffer.from('hello gateway')]), { contentType: 'text/plain' });
    const link = await driver.signedGetUrl('probe/hello.txt', { expiresInSeconds: 60, downloadFileName: 'hello.txt' });
    expect(link.url.startsWith(gateway.url)).toBe(true);
    const res = await fetch(link.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello gateway');
    expect(res.headers.get('content-disposition')).toContain('hello.txt');
    const tampered = await fetch(link.url.replace('hello.txt', 'other.txt'));
    expect(tampered.status).toBe(403);
  });

  it('direct uploads through the local PUT route reach registered handlers', async () => {
    const seen: string[] = [];
    gateway.runtime.services.storage.onLocalPut(async (key, result) => void seen.push(`${key}:${result.size}`));
    const put = await gateway.runtime.services.storage.driver.signedPutUrl('probe/up.bin', { expiresInSeconds: 60, contentType: 'application/octet-stream', contentLength: 4 });
    const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body: Buffer.from([1, 2, 3, 4]) });
    expect(res.status).toBeLessThan(300);
    expect(seen).toEqual(['probe/up.bin:4']);
  });

  it('/readyz reports storage that cannot be reached', async () => {
    const broken = await startTestGateway({ mode: 'serve', env: { STORAGE_URL: 's3://nowhere/prefix', S3_ENDPOINT: 'http://127.0.0.1:9', S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } });
    try {
      const res = await fetch(`${broken.url}/readyz`);
      expect(res.status).toBe(503);
      expect(Object.keys((await res.json()).failures)).toEqual(['storage']);
    } finally {
      await broken.close();
    }
  });
});
