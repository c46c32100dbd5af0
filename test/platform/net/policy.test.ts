import { describe, expect, it } from 'vitest';
import { checkAddress, checkUrl, FetchNetworkError, UrlNotAllowedError, validateAllowNetworks } from '../../../src/platform/net/index.js';
import { pinnedLookup } from '../../../src/platform/net/connector.js';
import { tableResolver } from './servers.js';

describe('checkAddress', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['10.1.2.3', /private address 10\.1\.2\.3/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['100.64.0.1', /CGNAT/],
    ['169.254.1.1', /link-local/],
    ['169.254.169.254', /cloud metadata/],
    ['169.254.170.2', /cloud metadata/],
    ['100.100.100.200', /cloud metadata/],
    ['168.63.129.16', /cloud metadata/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['192.0.0.8', /reserved/],
    ['192.0.2.1', /documentation/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.9', /documentation/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.1', /benchmarking/],
    ['240.0.0.1', /reserved/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['[::1]', /loopback/],
    ['::ffff:127.0.0.1', /loopback address 127\.0\.0\.1/],
    ['::ffff:7f00:1', /loopback/],
    ['::ffff:a00:1', /private address 10\.0\.0\.1/],
    ['::7f00:1', /IPv4-compatible .* loopback/],
    ['::ffff:0:7f00:1', /IPv4-translated .* loopback/],
    ['64:ff9b::7f00:1', /NAT64 .* loopback address 127\.0\.0\.1/],
    ['64:ff9b::a00:1', /NAT64 .* private address 10\.0\.0\.1/],
    ['64:ff9b::a9fe:a9fe', /NAT64 .* cloud metadata address 169\.254\.169\.254/],
    ['64:ff9b:1::808:808', /local-use NAT64/],
    ['2002:7f00:1::1', /6to4 .* loopback/],
    ['2002:c0a8:101::1', /6to4 .* private/],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', /Teredo .* loopback/], // client ~(7f00:0001)
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
    ['fd00:ec2::254', /cloud metadata/],
    ['fd12:3456::1', /private \(unique local\)/],
    ['fc00::1', /unique local/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /scoped/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /documentation/],
    ['100::1', /discard/],
    ['4000::1', /unallocated/],
    ['not-an-ip', /not an IP/],
  ])('refuses %s', (ip, reason) => {
    const r = checkAddress(ip, []);
    expect(r.allowed).toBe(false);
    if (!r.allowed) expect(r.reason).toMatch(reason);
  });

  it.each(['8.8.8.8', '93.184.216.34', '1.1.1.1', '2606:4700::1111', '2a00:1450:4001::1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'allows public %s',
    (ip) => {
      expect(checkAddress(ip, [])).toEqual({ allowed: true });
    },
  );

  it('opens exactly the allowNetworks ranges', () => {
    expect(checkAddress('127.0.0.2', ['127.0.0.2/32']).allowed).toBe(true);
    expect(checkAddress('127.0.0.1', ['127.0.0.2/32']).allowed).toBe(false);
    expect(checkAddress('::ffff:127.0.0.2', ['127.0.0.2/32']).allowed).toBe(true);
    expect(checkAddress('10.9.8.7', ['10.0.0.0/8']).allowed).toBe(true);
    expect(checkAddress('fd00::5', ['fd00::/64']).allowed).toBe(true);
    expect(checkAddress('fd00:1::5', ['fd00::/64']).allowed).toBe(false);
    expect(checkAddress('127.0.0.7', ['127.0.0.7']).allowed).toBe(true); // bare address = single host
    expect(checkAddress('127.0.0.2', ['::ffff:127.0.0.0/104']).allowed).toBe(true);
  });

  it('never opens cloud metadata, even inside an allowed range', () => {
    expect(checkAddress('169.254.169.254', ['169.254.0.0/16'])).toEqual({ allowed: false, reason: 'cloud metadata address 169.254.169.254' });
    expect(checkAddress('fd00:ec2::254', ['fc00::/7']).allowed).toBe(false);
    expect(checkAddress('169.254.1.1', ['169.254.0.0/16']).allowed).toBe(true);
  });

  it('rejects malformed allowNetworks loudly', () => {
    expect(() => validateAllowNetworks(['10.0.0.0/8', 'nonsense'])).toThrow(TypeError);
    expect(() => checkAddress('10.0.0.1', ['10.0.0.0/33'])).toThrow(/invalid CIDR/);
  });
});

describe('checkUrl', () => {
  const resolve = tableResolver({
    'public.test': ['93.184.216.34', '2606:2800:220:1::1'],
    'private.test': '10.0.0.5',
    'mixed.test': ['93.184.216.34', '10.0.0.5'],
    'mapped.test': '::ffff:10.0.0.1',
    'meta.test': '169.254.169.254',
    'garbage.test': 'not-an-address',
  });
  const policy = { allowNetworks: [], resolve };

  it.each([
    ['http://127.0.0.1/', /loopback address 127\.0\.0\.1/],
    ['http://2130706433/', /loopback address 127\.0\.0\.1/],
    ['http://0177.0.0.1/', /loopback/],
    ['http://0x7f.0.0.1/', /loopback/],
    ['http://0x7f.1/', /loopback/],
    ['http://127.1/', /loopback/],
    ['http://127.0.0.1./', /loopback/],
    ['http://0.0.0.0/', /unspecified/],
    ['http://0/', /unspecified/],
    ['http://[::]/', /unspecified/],
    ['http://[::1]/', /loopback/],
    ['http://[::ffff:127.0.0.1]/', /loopback/],
    ['http://[::ffff:7f00:1]/', /loopback/],
    ['http://[::127.0.0.1]/', /loopback/],
    ['http://[64:ff9b::7f00:1]/', /NAT64 .* loopback/],
    ['http://[64:ff9b::a00:1]/', /NAT64 .* private/],
    ['http://[64:ff9b::127.0.0.1]/', /NAT64 .* loopback/],
    ['http://169.254.169.254/latest/meta-data', /cloud metadata address 169\.254\.169\.254/],
    ['http://[fd00:ec2::254]/', /cloud metadata/],
    ['http://100.100.100.200/', /cloud metadata/],
    ['http://100.64.0.1/', /CGNAT/],
    ['http://10.0.0.1/', /private address 10\.0\.0\.1/],
    ['http://192.168.1.1/', /private address 192\.168\.1\.1/],
    ['http://172.16.0.1/', /private address 172\.16\.0\.1/],
    ['http://localhost/', /localhost name/],
    ['http://localhost./', /localhost name/],
    ['http://LOCALHOST:8080/', /localhost name/],
    ['http://api.localhost/', /localhost name/],
    ['http://metadata.google.internal/computeMetadata/v1/', /cloud metadata name/],
    ['http://[fe80::1]/', /link-local/],
    ['http://224.0.0.1/', /multicast/],
    ['http://192.0.2.1/', /documentation/],
    ['http://255.255.255.255/', /broadcast/],
    ['ftp://example.com/', /^scheme ftp: not allowed$/],
    ['file:///etc/passwd', /^scheme file: not allowed$/],
    ['gopher://example.com:70/', /scheme gopher:/],
    ['data:text/plain,hi', /scheme data:/],
    ['javascript:alert(1)', /scheme javascript:/],
    ['http://user:pw@example.com/', /^credentials in URL$/],
    ['http://user@public.test/', /credentials in URL/],
    ['not a url', /invalid URL/],
    ['http://private.test/', /private\.test resolves to private address 10\.0\.0\.5/],
    ['http://private.test./', /private address 10\.0\.0\.5/],
    ['http://mixed.test/', /private address 10\.0\.0\.5/],
    ['http://mapped.test/', /private address 10\.0\.0\.1/],
    ['http://meta.test/', /cloud metadata/],
    ['http://garbage.test/', /non-address/],
  ])('refuses %s', async (url, reason) => {
    const err = await checkUrl(url, policy).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UrlNotAllowedError);
    const e = err as UrlNotAllowedError;
    expect(e.code).toBe('URL_NOT_ALLOWED');
    expect(e.transient).toBe(false);
    expect(e.reason).toMatch(reason);
  });

  it('returns every resolved address of a public name, resolving once', async () => {
    resolve.calls.clear();
    const r = await checkUrl('https://public.test/a?b=1', policy);
    expect(r.url.href).toBe('https://public.test/a?b=1');
    expect(r.addresses).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
    expect(resolve.calls.get('public.test')).toBe(1);
  });

  it('does not call the resolver for IP literals', async () => {
    resolve.calls.clear();
    const r = await checkUrl('http://8.8.8.8/', policy);
    expect(r.addresses).toEqual([{ address: '8.8.8.8', family: 4 }]);
    expect(resolve.calls.size).toBe(0);
  });

  it('enforces allowedPorts, counting default ports', async () => {
    const p = { ...policy, allowedPorts: [80, 443] };
    await expect(checkUrl('http://8.8.8.8/', p)).resolves.toBeTruthy();
    await expect(checkUrl('https://8.8.8.8/', p)).resolves.toBeTruthy();
    await expect(checkUrl('http://8.8.8.8:8080/', p)).rejects.toMatchObject({ reason: 'port 8080 not allowed' });
  });

  it('maps DNS failure to a FetchNetworkError', async () => {
    const err = await checkUrl('http://nxdomain.test/', policy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchNetworkError);
    expect((err as FetchNetworkError).causeCode).toBe('ENOTFOUND');
  });
});

describe('pinnedLookup', () => {
  const call = (lookup: ReturnType<typeof pinnedLookup>, host: string, opts: object) =>
    new Promise<{ err: Error | null; address: unknown; family?: number }>((resolve) =>
      lookup(host, opts as never, (err, address, family) => resolve({ err, address, family })),
    );
  const addresses = [
    { address: '127.0.0.2', family: 4 as const },
    { address: '::1', family: 6 as const },
  ];
  const lookup = pinnedLookup('rebind.test', addresses, ['127.0.0.2/32', '::1/128']);

  it('answers only with the checked addresses', async () => {
    expect(await call(lookup, 'rebind.test', { all: true })).toEqual({ err: null, address: addresses, family: undefined });
    expect(await call(lookup, 'rebind.test', {})).toEqual({ err: null, address: '127.0.0.2', family: 4 });
    expect(await call(lookup, 'rebind.test', { family: 6 })).toEqual({ err: null, address: '::1', family: 6 });
  });

  it('refuses to look up any other name', async () => {
    const r = await call(lookup, 'evil.test', {});
    expect(r.err).toBeInstanceOf(UrlNotAllowedError);
  });

  it('refuses to be built from unchecked addresses', () => {
    expect(() => pinnedLookup('x.test', [{ address: '10.0.0.1', family: 4 }], [])).toThrow(UrlNotAllowedError);
  });
});
