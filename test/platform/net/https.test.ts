// TLS over a pinned connection: the socket goes to the checked address while
// SNI and certificate verification use the URL's host name.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchNetworkError, UrlNotAllowedError, safeFetch } from '../../../src/platform/net/index.js';
import { closeAll, startServer, tableResolver } from './servers.js';

let dir: string;
let key: Buffer;
let cert: Buffer;
const servernames: Array<string | undefined> = [];
let tlsServer: https.Server;
let tlsPort: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'net-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1',
    '-subj', '/CN=secure.test', '-addext', 'subjectAltName=DNS:secure.test',
  ], { stdio: 'ignore' });
  key = readFileSync(path.join(dir, 'key.pem'));
  cert = readFileSync(path.join(dir, 'cert.pem'));
  tlsServer = https.createServer({ key, cert }, (req, res) => {
    if (req.url === '/back-to-http') res.writeHead(302, { location: req.headers['x-next'] as string }).end();
    else res.end(`tls ok ${req.headers.host}`);
  });
  tlsServer.on('secureConnection', (s) => servernames.push((s as unknown as { servername?: string }).servername));
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.2', () => r()));
  tlsPort = (tlsServer.address() as AddressInfo).port;
});

afterAll(async () => {
  await closeAll();
  tlsServer.closeAllConnections();
  await new Promise((r) => tlsServer.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('https through the pinned connector', () => {
  it('verifies the certificate against the host name, not the address', async () => {
    const resolve = tableResolver({ 'secure.test': (n) => (n === 1 ? ['127.0.0.2'] : ['10.0.0.1']), 'other.test': '127.0.0.2' });
    const policy = { allowNetworks: ['127.0.0.2/32'], resolve, ca: cert };
    const res = await safeFetch(`https://secure.test:${tlsPort}/`, { policy });
    expect(await res.text()).toBe(`tls ok secure.test:${tlsPort}`);
    expect(servernames.at(-1)).toBe('secure.test');
    expect(resolve.calls.get('secure.test')).toBe(1);

    // Same address, wrong name: the certificate does not match, so it fails.
    const err = await safeFetch(`https://other.test:${tlsPort}/`, { policy }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchNetworkError);
    expect((err as FetchNetworkError).causeCode).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect((err as FetchNetworkError).transient).toBe(false);
  });

  it('keeps verification on: an untrusted certificate is refused', async () => {
    const resolve = tableResolver({ 'secure.test': '127.0.0.2' });
    const err = await safeFetch(`https://secure.test:${tlsPort}/`, { policy: { allowNetworks: ['127.0.0.2/32'], resolve } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FetchNetworkError);
    expect((err as FetchNetworkError).transient).toBe(false);
  });

  it('re-checks each hop across http -> https -> http', async () => {
    const resolve = tableResolver({ 'secure.test': '127.0.0.2', 'plain.test': '127.0.0.3', 'inside.test': '10.0.0.9' });
    const policy = { allowNetworks: ['127.0.0.2/32', '127.0.0.3/32'], resolve, ca: cert };
    const plain = await startServer('127.0.0.3', (req, res) => {
      if (req.url === '/start') res.writeHead(301, { location: `https://secure.test:${tlsPort}/back-to-http` }).end();
      else res.end('plain again');
    });
    const ok = await safeFetch(`http://plain.test:${plain.port}/start`, {
      headers: { 'x-next': `http://plain.test:${plain.port}/end` },
      policy,
    });
    expect(await ok.text()).toBe('plain again');
    expect(ok.redirects).toEqual([`https://secure.test:${tlsPort}/back-to-http`, `http://plain.test:${plain.port}/end`]);

    const err = await safeFetch(`http://plain.test:${plain.port}/start`, { headers: { 'x-next': 'http://inside.test/' }, policy }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect((err as UrlNotAllowedError).reason).toMatch(/inside\.test resolves to private address 10\.0\.0\.9/);
  });
});
