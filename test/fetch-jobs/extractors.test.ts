// Each extractor against local fixture pages, through the real safe fetcher.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntities, scanTags } from '../../src/fetch-jobs/extractors/html-scan.js';
import { extractFromPage } from '../../src/fetch-jobs/extractors/html.js';
import { inspect } from '../../src/fetch-jobs/inspect.js';
import { closeAll, type TestServer } from '../platform/net/servers.js';
import { makePng, makeWav, sendBytes, sendHtml, startRoutes } from './fixtures.js';

const policy = { allowNetworks: ['127.0.0.0/8'] };
let server: TestServer;
let png: Buffer;
const wav = makeWav(4000);

beforeAll(async () => {
  png = await makePng(64, 48);
  server = await startRoutes({
    '/image': (req, res) => sendBytes(req, res, png, 'application/octet-stream', { headers: { 'content-disposition': 'attachment; filename="picture.png"' } }),
    '/sound.wav': (req, res) => sendBytes(req, res, wav, 'text/plain'),
    '/og': (_req, res) =>
      sendHtml(res, `<!doctype html><html><head>
        <title>Fallback &amp; title</title>
        <META PROPERTY="og:title" CONTENT='Sea &quot;waves&quot;'>
        <meta property=og:description content="Blue &#x26; calm">
        <meta property="og:image" content="/image">
        <meta property="og:video" content="/small.wav"><meta property="og:video:width" content="320"><meta property="og:video:height" content="240"><meta property="og:video:type" content="video/mp4">
        <meta property="og:video" content="http://127.0.0.1:1/never"><meta property="og:video:secure_url" content="/sound.wav"><meta property="og:video:width" content="1280"><meta property="og:video:height" content="720"><meta property="og:video:type" content="video/mp4">
        <meta name="author" content="Ann Author"><meta property="og:video:duration" content="12.5">
        <script>document.write('<meta property="og:video" content="/evil">')</script>
        </head><body></body></html>`),
    '/video-page': (_req, res) =>
      sendHtml(res, `<html><head><title>Clip</title></head><body><!-- <video src="/commented"> -->
        <video width="640" height="360" poster="/image"><source src="/low.wav" type="audio/wav" data-size="100"><source src="sound.wav" type='audio/wav' data-size="8044"></video></body></html>`),
    '/oembed-page': (_req, res) =>
      sendHtml(res, `<html><head><title>Photo page</title><link rel="alternate" type="application/json+oembed" href="/oembed.json?url=x&amp;format=json"></head><body>nothing</body></html>`),
    '/oembed.json': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version: '1.0', type: 'photo', title: 'A photo', author_name: 'Pat', provider_name: 'Fixture', thumbnail_url: '/image', url: `${server.origin}/image`, width: 64, height: 48, query: req.url }));
    },
    '/oembed-video-page': (_req, res) => sendHtml(res, `<link type="application/json+oembed" rel="alternate nofollow" href="/oembed-video.json">`),
    '/oembed-video.json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'video', title: 'A clip', author_name: 'Sam', duration: 4, html: '<video controls><source src="/sound.wav" type="audio/wav"></video>' }));
    },
    '/dead-first': (_req, res) => sendHtml(res, '<meta property="og:video" content="/gone.mp4"><meta property="og:video:width" content="4000"><meta property="og:video:height" content="4000"><meta property="og:video" content="/sound.wav">'),
    '/plain-page': (_req, res) => sendHtml(res, '<html><head><title>Nothing here</title></head><body>text</body></html>'),
  });
});
afterAll(() => closeAll());

const run = (path: string, expectedMimeTypes?: string[]) => inspect(`${server.origin}${path}`, { policy, maxBytes: 10_000_000, expectedMimeTypes });

describe('html scanner', () => {
  it('reads quoted, unquoted and duplicated attributes case-insensitively and decodes entities', () => {
    const [tag] = scanTags(`<META Name=A content='x &amp; &lt;y&gt; &#39;z&#39;' content="second">`);
    expect(tag).toEqual({ name: 'meta', attrs: { name: 'A', content: "x & <y> 'z'" } });
    expect(decodeEntities('&quot;&#x41;&#66;&bogus;&#xD800;')).toBe('"AB&bogus;&#xD800;');
  });

  it('ignores tags inside comments and scripts', () => {
    const names = scanTags('<!-- <meta name=a> --><script>"<meta name=b>"</script><meta name=c>').map((t) => t.attrs.name);
    expect(names).toEqual(['c']);
  });

  it('picks the largest og:video and resolves relative URLs', () => {
    const found = extractFromPage('<meta property="og:video" content="a.mp4"><meta property="og:video:width" content="100"><meta property="og:video:height" content="100"><meta property="og:video" content="b.mp4"><meta property="og:video:width" content="1920"><meta property="og:video:height" content="1080"><meta name="twitter:player:stream" content="c.mp4">', 'https://example.com/p/page');
    expect(found.candidates.map((c) => c.url)).toEqual(['https://example.com/p/b.mp4', 'https://example.com/p/a.mp4', 'https://example.com/p/c.mp4']);
  });
});

describe('extractors over HTTP', () => {
  it('direct: decides by the sniffed bytes, not the Content-Type', async () => {
    const { metadata } = await run('/image');
    expect(metadata).toMatchObject({ extractor: 'direct', mimeType: 'image/png', size: png.length, fileName: 'picture.png', width: 64, height: 48, verdict: 'ALLOWED' });
    const sound = await run('/sound.wav');
    expect(sound.metadata).toMatchObject({ extractor: 'direct', mimeType: 'audio/wav', size: wav.length, fileName: 'sound.wav', verdict: 'ALLOWED' });
  });

  it('html: Open Graph tags, the secure_url of the biggest video, page metadata', async () => {
    const { metadata } = await run('/og');
    expect(metadata).toMatchObject({
      extractor: 'html',
      mediaUrl: `${server.origin}/sound.wav`,
      title: 'Sea "waves"',
      description: 'Blue & calm',
      thumbnailUrl: `${server.origin}/image`,
      author: 'Ann Author',
      duration: 12.5,
      mimeType: 'audio/wav',
      size: wav.length,
      verdict: 'ALLOWED',
    });
  });

  it('html: <video>/<source> elements, largest declared size wins, comments ignored', async () => {
    const { metadata } = await run('/video-page');
    expect(metadata).toMatchObject({ extractor: 'html', mediaUrl: `${server.origin}/sound.wav`, title: 'Clip', mimeType: 'audio/wav' });
  });

  it('oembed: discovery link → provider JSON with title, author, thumbnail and the photo URL', async () => {
    const { metadata } = await run('/oembed-page');
    expect(metadata).toMatchObject({
      extractor: 'oembed',
      title: 'A photo',
      author: 'Pat',
      provider: 'Fixture',
      thumbnailUrl: `${server.origin}/image`,
      mediaUrl: `${server.origin}/image`,
      mimeType: 'image/png',
      width: 64,
      verdict: 'ALLOWED',
    });
    expect(server.seen.some((r) => r.url === '/oembed.json?url=x&format=json')).toBe(true);
  });

  it('oembed: a video answer whose html holds a direct <source>', async () => {
    const { metadata } = await run('/oembed-video-page');
    expect(metadata).toMatchObject({ extractor: 'oembed', title: 'A clip', author: 'Sam', duration: 4, mediaUrl: `${server.origin}/sound.wav`, mimeType: 'audio/wav', verdict: 'ALLOWED' });
  });

  it('html: falls back to the next candidate when the best one is dead', async () => {
    const { metadata } = await run('/dead-first');
    expect(metadata).toMatchObject({ extractor: 'html', mediaUrl: `${server.origin}/sound.wav`, verdict: 'ALLOWED' });
  });

  it('verdicts: no media, MIME not accepted, too large, HTTP errors, egress refusal', async () => {
    expect((await run('/plain-page')).metadata).toMatchObject({ verdict: 'NO_MEDIA', extractor: null });
    expect((await run('/sound.wav', ['image/*'])).metadata).toMatchObject({ verdict: 'MIME_NOT_ACCEPTED', mimeType: 'audio/wav' });
    expect((await inspect(`${server.origin}/image`, { policy, maxBytes: 100 })).metadata).toMatchObject({ verdict: 'TOO_LARGE', size: png.length });
    expect((await run('/missing')).metadata).toMatchObject({ verdict: 'UNREACHABLE', verdictReason: expect.stringContaining('HTTP_404') });
    expect((await inspect(`${server.origin}/image`, { policy: { allowNetworks: [] }, maxBytes: 1e9 })).metadata).toMatchObject({ verdict: 'URL_NOT_ALLOWED' });
  });

  it('probes with a ranged GET for the first 4 KiB', async () => {
    await run('/sound.wav');
    const probe = server.seen.filter((r) => r.url === '/sound.wav').pop();
    expect(probe?.headers.range).toBe('bytes=0-4095');
  });
});
