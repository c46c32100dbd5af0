import { afterEach, describe, expect, it } from 'vitest';
import type { Readable } from 'node:stream';
import {
  FetchAbortedError,
  FetchNetworkError,
  FetchTimeoutError,
  HttpStatusError,
  ResponseTooLargeError,
  UrlNotAllowedError,
  safeFetch,
  type EgressPolicy,
} from '../../../src/platform/net/index.js';
import { closeAll, startRawServer, startServer, tableResolver } from './servers.js';

afterEach(closeAll);

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

async function drain(body: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  return n;
}

const MB = 1024 * 1024;

describe('safeFetch: allow / refuse', () => {
  it('fetches from a loopback server opened by allowNetworks', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('hello ✓');
    });
    const res = await safeFetch(`${s.origin}/path?q=1`, { policy: { allowNetworks: ['127.0.0.2/32'] } });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.url).toBe(`${s.origin}/path?q=1`);
    expect(res.redirects).toEqual([]);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('hello ✓');
    expect(s.seen[0].url).toBe('/path?q=1');
  });

  it('refuses the same loopback server without allowNetworks, before connecting', async () => {
    const s = await startServer('127.0.0.1', (_req, res) => res.end('secret'));
    const err = await failure(safeFetch(`${s.origin}/`, { policy: { allowNetworks: [] } }));
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect((err as UrlNotAllowedError).reason).toBe('loopback address 127.0.0.1');
    expect(s.seen).toHaveLength(0);
  });

  it('refuses an address outside the opened range', async () => {
    const s = await startServer('127.0.0.1', (_req, res) => res.end('secret'));
    const err = await failure(safeFetch(`${s.origin}/`, { policy: { allowNetworks: ['127.0.0.2/32'] } }));
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect(s.seen).toHaveLength(0);
  });

  // Every one of these would reach something on this machine or its network
  // if the checker were fooled. Names go through a fake resolver: no real DNS.
  const resolve = tableResolver({
    'private.test': '10.0.0.5',
    'loop.test': '127.0.0.1',
    'loop6.test': '::1',
    'meta.test': '169.254.169.254',
    'example.com': '93.184.216.34',
  });
  it.each([
    ['http://127.0.0.1/', /loopback/],
    ['http://2130706433/', /loopback/],
    ['http://0177.0.0.1/', /loopback/],
    ['http://0x7f.0.0.1/', /loopback/],
    ['http://127.1/', /loopback/],
    ['http://0.0.0.0/', /unspecified/],
    ['http://[::]/', /unspecified/],
    ['http://[::1]/', /loopback/],
    ['http://[::ffff:127.0.0.1]/', /loopback/],
    ['http://[::ffff:7f00:1]/', /loopback/],
    ['http://[64:ff9b::7f00:1]/', /NAT64.*loopback/],
    ['http://[64:ff9b::a00:1]/', /NAT64.*private/],
    ['http://169.254.169.254/latest/meta-data', /cloud metadata/],
    ['http://[fd00:ec2::254]/', /cloud metadata/],
    ['http://100.64.0.1/', /CGNAT/],
    ['http://10.0.0.1/', /private address 10\.0\.0\.1/],
    ['http://192.168.1.1/', /private/],
    ['http://172.16.0.1/', /private/],
    ['http://localhost/', /localhost/],
    ['http://localhost./', /localhost/],
    ['http://[fe80::1]/', /link-local/],
    ['http://224.0.0.1/', /multicast/],
    ['http://192.0.2.1/', /documentation/],
    ['ftp://example.com/', /scheme ftp:/],
    ['file:///etc/passwd', /scheme file:/],
    ['http://user:pw@example.com/', /credentials in URL/],
    ['http://private.test/', /private address 10\.0\.0\.5/],
    ['http://loop.test/', /loopback/],
    ['http://loop6.test/', /loopback/],
    ['http://meta.test/', /cloud metadata/],
  ])('refuses %s', async (url, reason) => {
    const err = await failure(safeFetch(url, { policy: { allowNetworks: [], resolve } }));
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect((err as UrlNotAllowedError).reason).toMatch(reason);
    expect((err as UrlNotAllowedError).transient).toBe(false);
  });

  it('maps a refused connection to a transient FetchNetworkError', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => res.end());
    await s.close();
    const err = await failure(safeFetch(`${s.origin}/`, { policy: { allowNetworks: ['127.0.0.2/32'] } }));
    expect(err).toBeInstanceOf(FetchNetworkError);
    expect((err as FetchNetworkError).causeCode).toBe('ECONNREFUSED');
    expect((err as FetchNetworkError).transient).toBe(true);
  });
});

describe('safeFetch: DNS pinning', () => {
  it('connects to the address it checked, resolving once, even when DNS rebinds', async () => {
    const good = await startServer('127.0.0.2', (_req, res) => res.end('good'));
    const resolve = tableResolver({ 'rebind.test': (n) => (n === 1 ? ['127.0.0.2'] : ['10.0.0.1']) });
    const res = await safeFetch(`http://rebind.test:${good.port}/x`, { policy: { allowNetworks: ['127.0.0.2/32'], resolve } });
    expect(await res.text()).toBe('good');
    expect(resolve.calls.get('rebind.test')).toBe(1);
    expect(good.seen).toHaveLength(1);
    expect(good.seen[0].localAddress).toBe('127.0.0.2');
    // The name still travels in Host (virtual hosting, and SNI for https).
    expect(good.seen[0].headers.host).toBe(`rebind.test:${good.port}`);
  });

  it('a second resolution could not even reach a different allowed host', async () => {
    // Both addresses are allowed, so only pinning tells them apart: same port,
    // different loopback addresses; DNS says good first, evil afterwards.
    const good = await startServer('127.0.0.2', (_req, res) => res.end('good'));
    const evil = await startServer('127.0.0.3', (_req, res) => res.end('evil'), good.port);
    const resolve = tableResolver({ 'flip.test': (n) => (n === 1 ? ['127.0.0.2'] : ['127.0.0.3']) });
    const policy = { allowNetworks: ['127.0.0.0/29'], resolve };
    const res = await safeFetch(`http://flip.test:${good.port}/`, { policy });
    expect(await res.text()).toBe('good');
    expect(evil.seen).toHaveLength(0);
    expect(resolve.calls.get('flip.test')).toBe(1);
  });

  it('re-resolves and re-checks on every redirect hop', async () => {
    const resolve = tableResolver({ 'rebind.test': (n) => (n === 1 ? ['127.0.0.2'] : ['10.0.0.1']) });
    const s = await startServer('127.0.0.2', (req, res) => {
      if (req.url === '/start') {
        res.writeHead(302, { location: '/again' }).end();
      } else res.end('should not get here');
    });
    const err = await failure(
      safeFetch(`http://rebind.test:${s.port}/start`, { policy: { allowNetworks: ['127.0.0.2/32'], resolve } }),
    );
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect((err as UrlNotAllowedError).reason).toMatch(/rebind\.test resolves to private address 10\.0\.0\.1/);
    expect(resolve.calls.get('rebind.test')).toBe(2);
    expect(s.seen.map((r) => r.url)).toEqual(['/start']);
  });
});

describe('safeFetch: redirects', () => {
  const allow2 = { allowNetworks: ['127.0.0.2/32'] } satisfies EgressPolicy;

  it('refuses a redirect from an allowed server to 127.0.0.1', async () => {
    const inner = await startServer('127.0.0.1', (_req, res) => res.end('secret'));
    const outer = await startServer('127.0.0.2', (_req, res) => res.writeHead(302, { location: `${inner.origin}/admin` }).end());
    const err = await failure(safeFetch(`${outer.origin}/`, { policy: allow2 }));
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect((err as UrlNotAllowedError).reason).toBe('loopback address 127.0.0.1');
    expect(inner.seen).toHaveLength(0);
  });

  it('refuses a redirect to https on a refused address too', async () => {
    const outer = await startServer('127.0.0.2', (_req, res) => res.writeHead(301, { location: 'https://127.0.0.1:9/' }).end());
    const err = await failure(safeFetch(`${outer.origin}/`, { policy: allow2 }));
    expect((err as UrlNotAllowedError).reason).toMatch(/loopback/);
  });

  it('refuses a chain allowed -> allowed -> private', async () => {
    const resolve = tableResolver({ 'intranet.test': '10.1.2.3' });
    const b = await startServer('127.0.0.3', (_req, res) => res.writeHead(307, { location: 'http://intranet.test/' }).end());
    const a = await startServer('127.0.0.2', (_req, res) => res.writeHead(302, { location: `${b.origin}/b` }).end());
    const err = await failure(
      safeFetch(`${a.origin}/a`, { policy: { allowNetworks: ['127.0.0.2/32', '127.0.0.3/32'], resolve } }),
    );
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect((err as UrlNotAllowedError).reason).toMatch(/intranet\.test resolves to private address 10\.1\.2\.3/);
    expect(a.seen).toHaveLength(1);
    expect(b.seen).toHaveLength(1);
  });

  it.each(['file:///etc/passwd', 'ftp://127.0.0.2/x', 'gopher://127.0.0.2:70/_x', 'data:text/plain,hi'])(
    'refuses a redirect to %s',
    async (location) => {
      const s = await startServer('127.0.0.2', (_req, res) => res.writeHead(302, { location }).end());
      const err = await failure(safeFetch(`${s.origin}/`, { policy: allow2 }));
      expect(err).toBeInstanceOf(UrlNotAllowedError);
      expect((err as UrlNotAllowedError).reason).toMatch(/^scheme \w+: not allowed$/);
    },
  );

  // /hop/N redirects to /hop/N-1 (relative Location), /hop/0 answers.
  async function chainServer() {
    return startServer('127.0.0.2', (req, res) => {
      const n = Number(/^\/hop\/(\d+)$/.exec(req.url ?? '')?.[1]);
      if (n > 0) res.writeHead(302, { location: `${n - 1}` }).end();
      else res.end('arrived');
    });
  }

  it('follows 5 redirects (relative Locations) and reports them', async () => {
    const s = await chainServer();
    const res = await safeFetch(`${s.origin}/hop/5`, { policy: allow2 });
    expect(await res.text()).toBe('arrived');
    expect(res.url).toBe(`${s.origin}/hop/0`);
    expect(res.redirects).toEqual([4, 3, 2, 1, 0].map((n) => `${s.origin}/hop/${n}`));
  });

  it('refuses the 6th redirect', async () => {
    const s = await chainServer();
    const err = await failure(safeFetch(`${s.origin}/hop/6`, { policy: allow2 }));
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    expect((err as UrlNotAllowedError).reason).toBe('too many redirects');
    expect(s.seen).toHaveLength(6);
  });

  it('honours a configured redirect cap', async () => {
    const s = await chainServer();
    await expect(safeFetch(`${s.origin}/hop/2`, { policy: { ...allow2, maxRedirects: 1 } })).rejects.toMatchObject({
      reason: 'too many redirects',
    });
    const none = await failure(safeFetch(`${s.origin}/hop/1`, { policy: { ...allow2, maxRedirects: 0 } }));
    expect(none).toBeInstanceOf(UrlNotAllowedError);
  });

  function methodServer(status: number) {
    return startServer('127.0.0.2', (req, res) => {
      if (req.url === '/form') res.writeHead(status, { location: '/result' }).end();
      else res.end(`${req.method} ${req.url}`);
    });
  }
  const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };

  it('303 turns POST into GET and drops the body', async () => {
    const s = await methodServer(303);
    const res = await safeFetch(`${s.origin}/form`, { ...post, policy: allow2 });
    expect(await res.text()).toBe('GET /result');
    expect(s.seen[0]).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(s.seen[1]).toMatchObject({ method: 'GET', body: '' });
    expect(s.seen[1].headers['content-type']).toBeUndefined();
  });

  it('302 turns POST into GET', async () => {
    const s = await methodServer(302);
    const res = await safeFetch(`${s.origin}/form`, { ...post, policy: allow2 });
    expect(await res.text()).toBe('GET /result');
  });

  it.each([307, 308])('%i keeps the method and replays the body', async (status) => {
    const s = await methodServer(status);
    const res = await safeFetch(`${s.origin}/form`, { ...post, body: Buffer.from('{"a":1}'), policy: allow2 });
    expect(await res.text()).toBe('POST /result');
    expect(s.seen[1]).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(s.seen[1].headers['content-type']).toBe('application/json');
  });

  it('drops credentials on a cross-origin redirect but keeps them same-origin', async () => {
    const b = await startServer('127.0.0.3', (_req, res) => res.end('b'));
    const a = await startServer('127.0.0.2', (req, res) => {
      if (req.url === '/1') res.writeHead(302, { location: '/2' }).end();
      else res.writeHead(302, { location: `${b.origin}/3` }).end();
    });
    const res = await safeFetch(`${a.origin}/1`, {
      headers: { authorization: 'Bearer t', cookie: 'c=1', 'x-keep': 'yes' },
      policy: { allowNetworks: ['127.0.0.2/32', '127.0.0.3/32'] },
    });
    await res.text();
    expect(a.seen[1].headers.authorization).toBe('Bearer t');
    expect(b.seen[0].headers.authorization).toBeUndefined();
    expect(b.seen[0].headers.cookie).toBeUndefined();
    expect(b.seen[0].headers['x-keep']).toBe('yes');
  });

  it('returns a redirect status without Location as a plain response', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => res.writeHead(302).end('no location'));
    const res = await safeFetch(`${s.origin}/`, { policy: allow2 });
    expect(res.status).toBe(302);
    expect(await res.text()).toBe('no location');
  });
});

describe('safeFetch: byte cap', () => {
  const policy = { allowNetworks: ['127.0.0.2/32'], maxBytes: 1 * MB } satisfies EgressPolicy;
  const chunk = Buffer.alloc(64 * 1024, 0x61);

  function writeMany(res: { write(b: Buffer): boolean; end(): void; once(e: 'drain', f: () => void): unknown; destroyed?: boolean }, total: number) {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  }

  it('rejects up front when Content-Length exceeds the cap', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => {
      res.setHeader('content-length', String(10 * MB));
      writeMany(res, 10 * MB);
    });
    const err = await failure(safeFetch(`${s.origin}/`, { policy }));
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err).toMatchObject({ code: 'RESPONSE_TOO_LARGE', limitBytes: MB, declaredBytes: 10 * MB, transient: false });
  });

  it('stops a chunked response (no Content-Length) at the cap', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => writeMany(res, 10 * MB));
    const res = await safeFetch(`${s.origin}/`, { policy });
    let got = 0;
    res.body.on('data', (c: Buffer) => (got += c.length));
    const err = await failure(drain(res.body));
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(got).toBeLessThanOrEqual(MB);
  });

  it('stops a close-delimited response that never states its length', async () => {
    const s = await startRawServer('127.0.0.2', (socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n');
        let sent = 0;
        const pump = () => {
          while (sent < 10 * MB) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
          socket.end();
        };
        pump();
      });
    });
    const res = await safeFetch(`${s.origin}/`, { policy });
    await expect(res.text(20 * MB)).rejects.toBeInstanceOf(ResponseTooLargeError);
  });

  it('does not apply the cap to a HEAD answer, and frees it unread', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * MB) }).end();
    });
    const res = await safeFetch(`${s.origin}/`, { method: 'HEAD', policy });
    expect(res.headers.get('content-length')).toBe(String(10 * MB));
    // Nobody reads or disposes: the empty body still closes (which releases
    // the agent and the timers).
    await new Promise<void>((r) => (res.body.closed ? r() : res.body.once('close', () => r())));
    expect(await res.text()).toBe('');
  });

  it('text() has its own in-memory limit', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => res.end('x'.repeat(1000)));
    const res = await safeFetch(`${s.origin}/`, { policy: { allowNetworks: ['127.0.0.2/32'] } });
    await expect(res.text(999)).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE', limitBytes: 999 });
  });

  it('lets a body exactly at the cap through', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => writeMany(res, MB));
    const res = await safeFetch(`${s.origin}/`, { policy });
    expect(await drain(res.body)).toBe(MB);
  });

  it('respects backpressure: an unread body does not pile up in memory', async () => {
    let written = 0;
    let stalled!: () => void;
    const blocked = new Promise<void>((r) => (stalled = r));
    const s = await startServer('127.0.0.2', (_req, res) => {
      const pump = () => {
        for (;;) {
          written += chunk.length;
          if (written > 512 * MB) return res.end();
          if (!res.write(chunk)) {
            stalled();
            return void res.once('drain', pump);
          }
        }
      };
      pump();
    });
    const res = await safeFetch(`${s.origin}/`, { policy: { allowNetworks: ['127.0.0.2/32'] } });
    // Read a little, then stop reading for a while.
    await new Promise<void>((r) => res.body.once('data', () => r()));
    res.body.pause();
    await blocked;
    await new Promise((r) => setTimeout(r, 300));
    // Socket buffers plus stream high-water marks, nowhere near 512 MB.
    expect(written).toBeLessThan(32 * MB);
    res.dispose();
  });
});

describe('safeFetch: timeouts and failures', () => {
  const allow2 = { allowNetworks: ['127.0.0.2/32'] };

  it('times out when headers never come (idle)', async () => {
    const s = await startServer('127.0.0.2', () => {
      /* never answer */
    });
    const err = await failure(safeFetch(`${s.origin}/`, { policy: { ...allow2, idleTimeoutMs: 200 } }));
    expect(err).toBeInstanceOf(FetchTimeoutError);
    expect(err).toMatchObject({ code: 'FETCH_TIMEOUT', phase: 'headers', transient: true });
  });

  it('times out when the body stalls (idle)', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const res = await safeFetch(`${s.origin}/`, { policy: { ...allow2, idleTimeoutMs: 200 } });
    const started = Date.now();
    const err = await failure(res.text());
    expect(err).toBeInstanceOf(FetchTimeoutError);
    expect(err).toMatchObject({ phase: 'body', transient: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('enforces the total time even while data keeps trickling', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('.')), 30);
      res.on('close', () => clearInterval(t));
    });
    const res = await safeFetch(`${s.origin}/`, { policy: { ...allow2, idleTimeoutMs: 1000, totalTimeoutMs: 400 } });
    const started = Date.now();
    const err = await failure(drain(res.body));
    expect(err).toBeInstanceOf(FetchTimeoutError);
    expect(err).toMatchObject({ phase: 'total', timeoutMs: 400 });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('enforces the total time while waiting for a slow resolver', async () => {
    const resolve = () => new Promise<never>(() => {});
    const err = await failure(safeFetch('http://slow.test/', { policy: { allowNetworks: [], resolve, totalTimeoutMs: 150 } }));
    expect(err).toMatchObject({ code: 'FETCH_TIMEOUT', phase: 'total' });
  });

  it('reports a connection dropped mid-stream as a transient network error', async () => {
    const s = await startServer('127.0.0.2', (_req, res) => {
      res.writeHead(200, { 'content-length': String(1000) });
      res.write('x'.repeat(100), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const res = await safeFetch(`${s.origin}/`, { policy: allow2 });
    const err = await failure(res.text());
    expect(err).toBeInstanceOf(FetchNetworkError);
    expect(err).toMatchObject({ code: 'FETCH_NETWORK', transient: true });
  });

  it('reports a connection dropped before headers as a transient network error', async () => {
    const s = await startRawServer('127.0.0.2', (socket) => socket.once('data', () => socket.destroy()));
    const err = await failure(safeFetch(`${s.origin}/`, { policy: allow2 }));
    expect(err).toBeInstanceOf(FetchNetworkError);
    expect((err as FetchNetworkError).transient).toBe(true);
  });

  it("honours the caller's AbortSignal before and during the body", async () => {
    const s = await startServer('127.0.0.2', (_req, res) => {
      res.writeHead(200);
      res.write('start');
    });
    const pre = new AbortController();
    pre.abort();
    await expect(safeFetch(`${s.origin}/`, { signal: pre.signal, policy: allow2 })).rejects.toBeInstanceOf(FetchAbortedError);

    const ac = new AbortController();
    const res = await safeFetch(`${s.origin}/`, { signal: ac.signal, policy: allow2 });
    setTimeout(() => ac.abort(), 50);
    const err = await failure(drain(res.body));
    expect(err).toBeInstanceOf(FetchAbortedError);
  });

  it('dispose() frees the connection', async () => {
    let closed!: () => void;
    const socketClosed = new Promise<void>((r) => (closed = r));
    const s = await startServer('127.0.0.2', (req, res) => {
      req.socket.once('close', () => closed());
      res.writeHead(200);
      res.write('start');
    });
    const res = await safeFetch(`${s.origin}/`, { policy: allow2 });
    res.dispose();
    res.dispose();
    await socketClosed;
    expect(res.body.destroyed).toBe(true);
  });

  it('assertOk throws a typed status error, transient for 5xx only', async () => {
    const s = await startServer('127.0.0.2', (req, res) => res.writeHead(Number(req.url?.slice(1))).end());
    const r503 = await safeFetch(`${s.origin}/503`, { policy: allow2 });
    expect(() => r503.assertOk()).toThrow(HttpStatusError);
    expect(() => r503.assertOk()).toThrow(expect.objectContaining({ status: 503, transient: true }));
    const r404 = await safeFetch(`${s.origin}/404`, { policy: allow2 });
    expect(() => r404.assertOk()).toThrow(expect.objectContaining({ status: 404, transient: false }));
  });
});
