// Egress through an operator's HTTP CONNECT proxy (per-country exits). The
// target was already resolved and judged by the egress policy, so the tunnel
// is opened to the checked ADDRESS, not the name: the proxy is trusted to
// carry bytes, never to choose where they go. TLS (SNI and certificate
// checks) still runs end to end against the URL's host name.
import net from 'node:net';
import tls from 'node:tls';
import { FetchNetworkError } from './errors.js';
import type { ResolvedAddress } from './policy.js';

export interface TunnelOptions {
  proxy: URL;
  /** The checked addresses of the target; the first is used. */
  addresses: readonly ResolvedAddress[];
  hostname: string;
  port: number;
  protocol: 'http:' | 'https:';
  timeoutMs: number;
  ca?: string | Buffer | Array<string | Buffer>;
}

const MAX_PROXY_HEAD = 16 * 1024;

/** undici `connect` callback shape. */
export type ConnectCallback = (err: Error | null, socket: net.Socket | tls.TLSSocket | null) => void;

function authority(address: ResolvedAddress, port: number): string {
  return address.family === 6 ? `[${address.address}]:${port}` : `${address.address}:${port}`;
}

/** Opens a CONNECT tunnel to the checked address and, for https, TLS inside it. */
export function connectThroughProxy(o: TunnelOptions, callback: ConnectCallback): void {
  const target = o.addresses[0];
  if (!target) return callback(new FetchNetworkError(`no checked address for ${o.hostname}`), null);
  let settled = false;
  const done = (err: Error | null, socket: net.Socket | tls.TLSSocket | null) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    callback(err, socket);
  };
  const proxyPort = Number(o.proxy.port || (o.proxy.protocol === 'https:' ? 443 : 80));
  const socket = net.connect({ host: o.proxy.hostname.replace(/^\[|\]$/g, ''), port: proxyPort });
  const timer = setTimeout(() => {
    socket.destroy();
    done(new FetchNetworkError(`proxy ${o.proxy.host} did not open a tunnel within ${o.timeoutMs} ms`), null);
  }, o.timeoutMs);
  socket.once('error', (err) => done(new FetchNetworkError(`proxy ${o.proxy.host}: ${err.message}`, { cause: err }), null));
  socket.once('connect', () => {
    const to = authority(target, o.port);
    const auth = o.proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(o.proxy.username)}:${decodeURIComponent(o.proxy.password)}`).toString('base64')}\r\n` : '';
    socket.write(`CONNECT ${to} HTTP/1.1\r\nHost: ${to}\r\n${auth}\r\n`);
  });
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_PROXY_HEAD) {
        socket.destroy();
        done(new FetchNetworkError(`proxy ${o.proxy.host} sent an oversized answer`), null);
      }
      return;
    }
    socket.off('data', onData);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1]);
    if (status !== 200) {
      socket.destroy();
      return done(new FetchNetworkError(`proxy ${o.proxy.host} refused the tunnel (HTTP ${Number.isNaN(status) ? '?' : status})`), null);
    }
    // Bytes past the proxy's answer already belong to the tunnel.
    const rest = head.subarray(end + 4);
    if (rest.length) socket.unshift(rest);
    if (o.protocol === 'http:') return done(null, socket);
    const secure = tls.connect({ socket, servername: net.isIP(o.hostname) ? undefined : o.hostname, rejectUnauthorized: true, ...(o.ca === undefined ? {} : { ca: o.ca }) });
    secure.once('secureConnect', () => done(null, secure));
    secure.once('error', (err) => done(err, null));
  };
  socket.on('data', onData);
}
