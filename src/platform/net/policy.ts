// The egress policy and the URL-level check: scheme, credentials, port, host
// name, then every address the host resolves to.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { checkAddress, parseIp } from './address.js';
import { FetchNetworkError, UrlNotAllowedError, toFetchError } from './errors.js';

export { checkAddress, validateAllowNetworks, type AddressCheck } from './address.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Hostname -> addresses. Injectable so tests can play a rebinding DNS server. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface EgressPolicy {
  /** CIDRs (FETCH_ALLOW_NETWORKS) opened on top of public unicast, e.g. a loopback test server. */
  allowNetworks: string[];
  /** Redirects followed before refusing with 'too many redirects'. Default 5. */
  maxRedirects?: number;
  /** TCP (+TLS) connect timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest silence while waiting for headers or between body chunks. Default 30 s. */
  idleTimeoutMs?: number;
  /** Whole fetch including redirects and reading the body. Default 10 min. */
  totalTimeoutMs?: number;
  /** Response body cap in bytes; unlimited when unset. */
  maxBytes?: number;
  /** When set, only these destination ports are allowed (default ports included: list 80/443 yourself). */
  allowedPorts?: number[];
  /** Defaults to the system resolver (getaddrinfo, so /etc/hosts applies). */
  resolve?: Resolver;
  /**
   * Trusted CA certificates for https, replacing Node's bundled roots (private
   * PKI, tests). Certificates are always verified against the URL's host name.
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * An operator's HTTP CONNECT proxy to leave through (per-country exits).
   * The target is still judged here first; the tunnel goes to the checked address.
   */
  proxyUrl?: string;
}

export const policyDefaults = {
  maxRedirects: 5,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  totalTimeoutMs: 10 * 60_000,
} as const;

export const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

// Names that never leave the machine, whatever DNS says about them (RFC 6761),
// plus metadata names that only exist inside clouds.
function forbiddenName(name: string): string | undefined {
  if (name === 'localhost' || name.endsWith('.localhost')) return 'localhost name';
  if (name === 'metadata.google.internal' || name === 'metadata.goog' || name === 'instance-data' || name === 'instance-data.ec2.internal') {
    return 'cloud metadata name';
  }
  return undefined;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Checks a URL against the policy and resolves its host exactly once.
 * The returned addresses are the only ones the caller may connect to.
 * Throws UrlNotAllowedError on refusal, FetchNetworkError when DNS fails.
 */
export async function checkUrl(
  input: string | URL,
  policy: EgressPolicy,
  options: { signal?: AbortSignal } = {},
): Promise<{ url: URL; addresses: ResolvedAddress[] }> {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new UrlNotAllowedError('invalid URL', String(input));
  }
  const href = url.href;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UrlNotAllowedError(`scheme ${url.protocol} not allowed`, href);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UrlNotAllowedError('credentials in URL', href);
  }
  const port = url.port === '' ? defaultPort(url.protocol) : Number(url.port);
  if (policy.allowedPorts && !policy.allowedPorts.includes(port)) {
    throw new UrlNotAllowedError(`port ${port} not allowed`, href);
  }

  // WHATWG parsing already turns 0x7f.1, 0177.0.0.1, 2130706433 ... into dotted
  // quads for http(s); parseIp accepts those spellings too, so a host that
  // slipped through unnormalised is still judged as the address it denotes.
  const host = url.hostname;
  const literal = parseIp(host.replace(/\.+$/, ''));
  if (literal) {
    const check = checkAddress(literal.toString(), policy.allowNetworks);
    if (!check.allowed) throw new UrlNotAllowedError(check.reason, href);
    const address = literal.toString();
    return { url, addresses: [{ address, family: literal.kind() === 'ipv4' ? 4 : 6 }] };
  }

  const name = host.toLowerCase().replace(/\.+$/, '');
  if (name === '') throw new UrlNotAllowedError('empty host', href);
  const nameReason = forbiddenName(name);
  if (nameReason) throw new UrlNotAllowedError(`${nameReason} ${host}`, href);

  let answers: ResolvedAddress[];
  try {
    answers = await raceAbort((policy.resolve ?? systemResolver)(host), options.signal);
  } catch (err) {
    if (options.signal?.aborted) throw err; // the caller maps its own abort reason
    const mapped = toFetchError(err);
    throw mapped instanceof FetchNetworkError
      ? new FetchNetworkError(`cannot resolve ${host}: ${(err as Error)?.message ?? err}`, {
          cause: err,
          causeCode: mapped.causeCode,
          transient: mapped.transient,
        })
      : mapped;
  }
  if (answers.length === 0) {
    throw new FetchNetworkError(`cannot resolve ${host}: no addresses`, { causeCode: 'ENODATA', transient: true });
  }

  // Every answer must pass: connecting may pick any of them (happy eyeballs),
  // and a mixed answer set is itself a sign of a rebinding attempt.
  const addresses: ResolvedAddress[] = [];
  for (const answer of answers) {
    const family = isIP(answer.address);
    const check =
      family === 0 ? { allowed: false as const, reason: `resolver returned a non-address ${JSON.stringify(answer.address)}` } : checkAddress(answer.address, policy.allowNetworks);
    if (!check.allowed) throw new UrlNotAllowedError(`${host} resolves to ${check.reason}`, href);
    addresses.push({ address: answer.address, family: family === 6 ? 6 : 4 });
  }
  return { url, addresses };
}
