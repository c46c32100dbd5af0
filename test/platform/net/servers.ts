// Local HTTP servers for the fetch tests. Linux routes all of 127/8 to the
// loopback interface, so 127.0.0.2 and 127.0.0.3 act as distinct hosts.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Resolver, ResolvedAddress } from '../../../src/platform/net/index.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  localAddress: string | undefined;
}

export interface TestServer {
  host: string;
  port: number;
  /** http://host:port */
  origin: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

const open = new Set<{ close(): Promise<void> }>();

export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((s) => s.close()));
  open.clear();
}

function track<T extends { close(): Promise<void> }>(s: T): T {
  open.add(s);
  return s;
}

export async function startServer(
  host: string,
  handler: (req: http.IncomingMessage, res: http.ServerResponse, server: TestServer) => void,
  port = 0,
): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  let self!: TestServer;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        localAddress: req.socket.localAddress,
      });
      handler(req, res, self);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  self = track({
    host,
    port: actual,
    origin: `http://${host}:${actual}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
  return self;
}

/** A bare TCP server for responses node:http would refuse to produce. */
export async function startRawServer(host: string, onSocket: (socket: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return track({
    host,
    port,
    origin: `http://${host}:${port}`,
    seen: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

/** Resolver over a fixed table; counts calls per name. Unknown names fail like NXDOMAIN. */
export function tableResolver(table: Record<string, string | string[] | ((call: number) => string[])>): Resolver & {
  calls: Map<string, number>;
} {
  const calls = new Map<string, number>();
  const resolve = async (name: string): Promise<ResolvedAddress[]> => {
    // Like DNS, an absolute name (trailing dot) is the same name.
    const hostname = name.replace(/\.$/, '');
    const n = (calls.get(hostname) ?? 0) + 1;
    calls.set(hostname, n);
    const entry = table[hostname];
    if (entry === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    const list = typeof entry === 'function' ? entry(n) : Array.isArray(entry) ? entry : [entry];
    return list.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}
