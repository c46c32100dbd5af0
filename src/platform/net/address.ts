// Decides whether one IP address may be connected to. Works on parsed
// addresses (ipaddr.js), never on strings, so every spelling of an address
// (octal, hex, short forms, IPv4-mapped IPv6, ...) is judged by its value.
//
// Rule: an address is allowed when it is inside an allowNetworks CIDR, or when
// it is ordinary global unicast. Everything else is refused. Cloud metadata
// addresses are refused even when an allowNetworks range covers them: opening a
// test range such as 169.254.0.0/16 must not expose instance credentials.
import ipaddr from 'ipaddr.js';

type IP = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [IP, number];

export type AddressCheck = { allowed: true } | { allowed: false; reason: string };

// Our own table, checked before ipaddr.js's range() so the refusal reason is
// precise ("documentation" rather than ipaddr's catch-all "reserved") and so
// the deny list does not silently shrink if the library's table changes.
const deniedV4: Array<[string, string]> = [
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'CGNAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved (IETF protocol assignments)'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved (6to4 relay anycast)'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
];

const deniedV6: Array<[string, string]> = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:10::/28', 'ORCHID'],
  ['2001:20::/28', 'ORCHIDv2'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment routing'],
  ['fc00::/7', 'private (unique local)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local (deprecated)'],
  ['ff00::/8', 'multicast'],
];

// Instance metadata / host agent endpoints of the common clouds. Most sit in
// ranges refused anyway; they are listed so the reason names the real danger
// and so allowNetworks can never open them.
const metadataAddresses = [
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
  '169.254.170.2', // AWS ECS task metadata / credentials
  '169.254.170.23', // AWS EKS pod identity agent
  '169.254.0.23', // Tencent Cloud
  '100.100.100.200', // Alibaba Cloud
  '168.63.129.16', // Azure wireserver (public address, not caught by range checks)
  '192.0.0.192', // Oracle Cloud (legacy)
  'fd00:ec2::254', // AWS IMDS over IPv6
  'fd00:ec2::23', // AWS EKS pod identity agent over IPv6
].map((s) => ipaddr.parse(s));

const parsedV4 = deniedV4.map(([c, label]) => [ipaddr.parseCIDR(c), label] as const);
const parsedV6 = deniedV6.map(([c, label]) => [ipaddr.parseCIDR(c), label] as const);
const globalUnicastV6 = ipaddr.parseCIDR('2000::/3');

function inCidr(ip: IP, [net, bits]: Cidr): boolean {
  // ipaddr.js throws when kinds differ; a v4 address is never in a v6 range here
  // because mapped addresses are unwrapped before any matching.
  return ip.kind() === net.kind() && ip.match(net, bits);
}

const cidrCache = new Map<string, Cidr>();

/** Parses one allowNetworks entry: a CIDR, or a bare address meaning a single host. */
export function parseNetwork(entry: string): Cidr {
  const key = entry.trim();
  const hit = cidrCache.get(key);
  if (hit) return hit;
  let cidr: Cidr;
  try {
    if (key.includes('/')) {
      cidr = ipaddr.parseCIDR(key);
    } else {
      const ip = ipaddr.parse(key);
      cidr = [ip, ip.kind() === 'ipv4' ? 32 : 128];
    }
  } catch {
    throw new TypeError(`allowNetworks: invalid CIDR ${JSON.stringify(entry)}`);
  }
  // A v4-mapped v6 range would never match (we unwrap mapped addresses), so
  // turn it into the v4 range it denotes.
  const [net, bits] = cidr;
  if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    cidr = [(net as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  cidrCache.set(key, cidr);
  return cidr;
}

/** Throws TypeError on the first malformed entry; call at startup to fail fast. */
export function validateAllowNetworks(allowNetworks: readonly string[]): void {
  for (const entry of allowNetworks) parseNetwork(entry);
}

/** Parses an address as it may arrive from a URL host or a resolver: brackets and zone ids tolerated. */
export function parseIp(text: string): IP | undefined {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!ipaddr.isValid(s)) return undefined;
  const ip = ipaddr.parse(s);
  // Connect to an IPv4-mapped address and you reach the IPv4 host: judge that.
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) return (ip as ipaddr.IPv6).toIPv4Address();
  return ip;
}

function v4FromWords(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

function refused(reason: string): AddressCheck {
  return { allowed: false, reason };
}

function isAllowedNetwork(ip: IP, allowNetworks: readonly string[]): boolean {
  return allowNetworks.some((entry) => inCidr(ip, parseNetwork(entry)));
}

function checkV4(ip: ipaddr.IPv4, allowNetworks: readonly string[]): AddressCheck {
  const text = ip.toString();
  if (metadataAddresses.some((m) => m.kind() === 'ipv4' && inCidr(ip, [m, 32]))) {
    return refused(`cloud metadata address ${text}`);
  }
  if (isAllowedNetwork(ip, allowNetworks)) return { allowed: true };
  // Most specific entry first, e.g. broadcast before 240/4.
  let best: { label: string; bits: number } | undefined;
  for (const [cidr, label] of parsedV4) {
    if (inCidr(ip, cidr) && (!best || cidr[1] > best.bits)) best = { label, bits: cidr[1] };
  }
  if (best) return refused(`${best.label} address ${text}`);
  const range = ip.range();
  if (range !== 'unicast') return refused(`${range} address ${text}`);
  return { allowed: true };
}

/** The IPv4 address an IPv6 address carries, for the translation schemes that reach it. */
function embeddedV4(ip: ipaddr.IPv6): { kind: string; v4: ipaddr.IPv4; alsoCheck?: ipaddr.IPv4 } | undefined {
  const p = ip.parts;
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the gateway connects to the embedded v4.
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) {
    return { kind: 'NAT64', v4: v4FromWords(p[6], p[7]) };
  }
  // SIIT IPv4-translated ::ffff:0:a.b.c.d/96 (RFC 6145).
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0xffff && p[5] === 0) {
    return { kind: 'IPv4-translated', v4: v4FromWords(p[6], p[7]) };
  }
  // Deprecated IPv4-compatible ::a.b.c.d/96 (:: and ::1 are judged as themselves).
  if (p.slice(0, 6).every((w) => w === 0) && (p[6] !== 0 || p[7] > 1)) {
    return { kind: 'IPv4-compatible', v4: v4FromWords(p[6], p[7]) };
  }
  // 6to4 2002:aabb:ccdd::/48 (RFC 3056).
  if (p[0] === 0x2002) return { kind: '6to4', v4: v4FromWords(p[1], p[2]) };
  // Teredo 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC: client address is stored inverted.
  if (p[0] === 0x2001 && p[1] === 0) {
    return { kind: 'Teredo', v4: v4FromWords(p[6] ^ 0xffff, p[7] ^ 0xffff), alsoCheck: v4FromWords(p[2], p[3]) };
  }
  return undefined;
}

// Embedding schemes that are still deployed and route to the embedded host:
// judged purely by the embedded address. Others are refused even when the
// embedded address is public: they are deprecated and nothing legitimate
// should need them.
const routableEmbeddings = new Set(['NAT64', '6to4']);

function checkV6(ip: ipaddr.IPv6, allowNetworks: readonly string[]): AddressCheck {
  const text = ip.toString();
  if (metadataAddresses.some((m) => m.kind() === 'ipv6' && inCidr(ip, [m, 128]))) {
    return refused(`cloud metadata address ${text}`);
  }
  if (isAllowedNetwork(ip, allowNetworks)) return { allowed: true };
  const embedded = embeddedV4(ip);
  if (embedded) {
    for (const v4 of [embedded.v4, embedded.alsoCheck]) {
      if (!v4) continue;
      const inner = checkV4(v4, allowNetworks);
      if (!inner.allowed) return refused(`${embedded.kind} address ${text} embeds ${inner.reason}`);
    }
    if (routableEmbeddings.has(embedded.kind)) return { allowed: true };
    return refused(`${embedded.kind} address ${text}`);
  }
  let best: { label: string; bits: number } | undefined;
  for (const [cidr, label] of parsedV6) {
    if (inCidr(ip, cidr) && (!best || cidr[1] > best.bits)) best = { label, bits: cidr[1] };
  }
  if (best) return refused(`${best.label} address ${text}`);
  const range = ip.range();
  if (range !== 'unicast') return refused(`${range} address ${text}`);
  // ipaddr.js calls everything it has no name for "unicast"; only 2000::/3 is
  // actually allocated as global unicast.
  if (!inCidr(ip, globalUnicastV6)) return refused(`unallocated address ${text}`);
  return { allowed: true };
}

/**
 * May we connect to `ip`? `ip` may be any textual form ipaddr.js accepts,
 * including bracketed IPv6. Throws TypeError only for a malformed allowNetworks.
 */
export function checkAddress(ip: string, allowNetworks: readonly string[]): AddressCheck {
  const parsed = parseIp(ip);
  if (!parsed) return refused(`not an IP address: ${ip}`);
  // Zone ids (fe80::1%eth0) only exist for link-local scopes; never meaningful for egress.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).zoneId) return refused(`scoped address ${ip}`);
  return parsed.kind() === 'ipv4'
    ? checkV4(parsed as ipaddr.IPv4, allowNetworks)
    : checkV6(parsed as ipaddr.IPv6, allowNetworks);
}
