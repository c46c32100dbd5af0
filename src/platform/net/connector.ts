// An undici Agent pinned to addresses that were already checked.
//
// undici hands its `connect` options to net.connect / tls.connect, which call
// `lookup` to turn the host name into addresses. We replace that lookup with
// one that answers from the checked list and never asks DNS, so a rebinding
// DNS server gets no second chance between check and connect. The host name
// itself still travels to TLS (SNI and certificate verification) and into the
// Host header; only the name -> address step is pinned.
import type { LookupAddress, LookupOneOptions, LookupAllOptions } from 'node:dns';
import './node-fetch-first.js';
import { Agent } from 'undici';
import { checkAddress } from './address.js';
import { UrlNotAllowedError } from './errors.js';
import type { ResolvedAddress } from './policy.js';
import { connectThroughProxy, type ConnectCallback } from './proxy-tunnel.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function bare(host: string): string {
  const h = host.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * A net.connect-compatible lookup that only ever answers `hostname` with
 * `addresses`. Re-checks them (cheap, no I/O) so the connector is safe even
 * if someone hands it an unchecked list.
 */
export function pinnedLookup(hostname: string, addresses: readonly ResolvedAddress[], allowNetworks: readonly string[]) {
  const expected = bare(hostname);
  for (const a of addresses) {
    const check = checkAddress(a.address, allowNetworks);
    if (!check.allowed) throw new UrlNotAllowedError(check.reason);
  }
  return function lookup(host: string, options: LookupOneOptions | LookupAllOptions | number, callback: LookupCallback): void {
    const opts = typeof options === 'number' ? { family: options } : options;
    if (bare(host) !== expected) {
      // Only one origin is ever dispatched through a pinned agent; anything
      // else means it is being misused, and resolving would bypass the check.
      process.nextTick(callback, new UrlNotAllowedError(`connection to unchecked host ${host}`), '');
      return;
    }
    const wanted = opts.family === 4 || opts.family === 6 ? addresses.filter((a) => a.family === opts.family) : addresses;
    if (wanted.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`no checked IPv${opts.family} address for ${host}`);
      err.code = 'ENOTFOUND';
      process.nextTick(callback, err, '');
      return;
    }
    if ('all' in opts && opts.all) {
      process.nextTick(callback, null, wanted.map((a) => ({ address: a.address, family: a.family })));
    } else {
      process.nextTick(callback, null, wanted[0].address, wanted[0].family);
    }
  };
}

export interface PinnedAgentOptions {
  hostname: string;
  addresses: readonly ResolvedAddress[];
  allowNetworks: readonly string[];
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  ca?: string | Buffer | Array<string | Buffer>;
  /** Leave through this CONNECT proxy (see proxy-tunnel.ts). */
  proxy?: URL;
}

/**
 * One agent per hop: its connection pool can only hold sockets to the
 * addresses checked for this hop, so reuse can never carry a request to a
 * host that was not checked. Destroy it when the hop is done.
 */
export function createPinnedAgent(o: PinnedAgentOptions): Agent {
  if (o.proxy) {
    // Building the lookup re-checks every address, as for a direct connection.
    pinnedLookup(o.hostname, o.addresses, o.allowNetworks);
    const proxy = o.proxy;
    return new Agent({
      connect: (opts, callback) =>
        connectThroughProxy(
          { proxy, addresses: o.addresses, hostname: o.hostname, port: Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80), protocol: opts.protocol === 'https:' ? 'https:' : 'http:', timeoutMs: o.connectTimeoutMs, ca: o.ca },
          callback as ConnectCallback,
        ),
      headersTimeout: o.idleTimeoutMs,
      bodyTimeout: o.idleTimeoutMs,
      connections: 1,
      pipelining: 1,
    });
  }
  return new Agent({
    connect: {
      timeout: o.connectTimeoutMs,
      lookup: pinnedLookup(o.hostname, o.addresses, o.allowNetworks),
      // Spelled out so no caller-side option can ever switch verification off.
      rejectUnauthorized: true,
      ...(o.ca === undefined ? {} : { ca: o.ca }),
    },
    headersTimeout: o.idleTimeoutMs,
    bodyTimeout: o.idleTimeoutMs,
    // A single request per agent; no point keeping extra sockets.
    connections: 1,
    pipelining: 1,
  });
}
