import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestGateway, type TestGateway } from '../support/gateway.js';
import { countStatements, makeJpeg, makeWav, upload } from './helpers.js';

let gateway: TestGateway;
let key: string;
let accountId: string;
const h = () => ({ 'x-api-key': key });
const LIST = `query($order: MediaItemOrder, $pageIndex: Int, $pageSize: Int, $first: Int, $after: String, $startTime: DateTime, $endTime: DateTime, $search: String, $mimeType: String, $public: Boolean) {
  mediaItems(order: $order, pageIndex: $pageIndex, pageSize: $pageSize, first: $first, after: $after, startTime: $startTime, endTime: $endTime, search: $search, mimeType: $mimeType, public: $public) {
    totalCount pageIndex pageSize
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { uuid title originalFileName mimeType timeCreated account { name } } }
  }
}`;
const list = async (variables: Record<string, unknown> = {}) => gql(gateway, h(), LIST, variables);
const titles = (res: Awaited<ReturnType<typeof list>>) => res.body.data.mediaItems.edges.map((e: any) => e.node.title);

const DAY = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  gateway = await startTestGateway({ mode: 'serve' });
  ({ key, accountId } = await gateway.keyFor('lister'));
  // Five items through real multipart uploads, created one day apart (oldest first).
  const jpeg = await makeJpeg();
  for (let i = 0; i < 5; i++) {
    const image = i % 2 === 0;
    const { item } = await upload(gateway, key, image ? jpeg : makeWav(200), {
      name: image ? `pic-${i}.jpg` : `sound-${i}.wav`,
      input: { title: `item ${i}`, description: i === 3 ? 'has 100% of the_needle' : null, public: i === 4 },
    });
    await gateway.runtime.services.database.sql`update media_items set time_created = ${new Date(Date.now() - (5 - i) * DAY).toISOString()}::timestamptz where id = ${item.uuid}`;
  }
  // An old one, outside the default one-week window.
  const { item } = await upload(gateway, key, makeWav(200), { name: 'old.wav', input: { title: 'old' } });
  await gateway.runtime.services.database.sql`update media_items set time_created = ${new Date(Date.now() - 30 * DAY).toISOString()}::timestamptz where id = ${item.uuid}`;
});
afterAll(() => gateway?.close());

describe('mediaItems list', () => {
  it('defaults: newest first, one week back, page 0 of 20', async () => {
    const res = await list();
    expect(res.body.errors).toBeUndefined();
    const page = res.body.data.mediaItems;
    expect(page).toMatchObject({ totalCount: 5, pageIndex: 0, pageSize: 20, pageInfo: { hasNextPage: false, hasPreviousPage: false } });
    expect(titles(res)).toEqual(['item 4', 'item 3', 'item 2', 'item 1', 'item 0']);
    expect(page.edges[0].node.account.name).toBe('lister');
  });

  it('pages by index in both orders', async () => {
    const asc1 = await list({ order: 'ASCENDING', pageSize: 2, pageIndex: 1 });
    expect(titles(asc1)).toEqual(['item 2', 'item 3']);
    expect(asc1.body.data.mediaItems).toMatchObject({ totalCount: 5, pageIndex: 1, pageSize: 2, pageInfo: { hasNextPage: true, hasPreviousPage: true } });
    const desc2 = await list({ order: 'DESCENDING', pageSize: 2, pageIndex: 2 });
    expect(titles(desc2)).toEqual(['item 0']);
    expect(desc2.body.data.mediaItems.pageInfo.hasNextPage).toBe(false);
    const past = await list({ pageSize: 2, pageIndex: 9 });
    expect(past.body.data.mediaItems).toMatchObject({ totalCount: 5, edges: [] });
  });

  it('pages by cursor with first/after', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const res = await list({ order: 'ASCENDING', first: 2, after });
      seen.push(...titles(res));
      const info = res.body.data.mediaItems.pageInfo;
      if (!info.hasNextPage) break;
      after = info.endCursor;
    }
    expect(seen).toEqual(['item 0', 'item 1', 'item 2', 'item 3', 'item 4']);
  });

  it('filters by time window, search, MIME pattern and public', async () => {
    const window = await list({ startTime: new Date(Date.now() - 4.5 * DAY).toISOString(), endTime: new Date(Date.now() - 1.5 * DAY).toISOString() });
    expect(titles(window)).toEqual(['item 3', 'item 2', 'item 1']);
    const all = await list({ startTime: new Date(Date.now() - 60 * DAY).toISOString() });
    expect(all.body.data.mediaItems.totalCount).toBe(6);
    expect(titles(await list({ search: '100%' }))).toEqual(['item 3']);
    expect(titles(await list({ search: 'the_needle' }))).toEqual(['item 3']);
    expect(titles(await list({ search: 'PIC-2' }))).toEqual(['item 2']);
    expect(titles(await list({ mimeType: 'image/*' }))).toEqual(['item 4', 'item 2', 'item 0']);
    expect(titles(await list({ mimeType: 'image/jpeg', public: true }))).toEqual(['item 4']);
    expect(titles(await list({ mimeType: 'audio/*' }))).toEqual(['item 3', 'item 1']);
  });

  it('names the field of every bad argument', async () => {
    const field = async (v: Record<string, unknown>) => (await list(v)).body.errors?.[0]?.extensions;
    expect(await field({ pageSize: 101 })).toMatchObject({ code: 'VALIDATION', field: 'pageSize' });
    expect(await field({ pageSize: 0 })).toMatchObject({ code: 'VALIDATION', field: 'pageSize' });
    expect(await field({ first: 500 })).toMatchObject({ code: 'VALIDATION', field: 'first' });
    expect(await field({ pageIndex: -1 })).toMatchObject({ code: 'VALIDATION', field: 'pageIndex' });
    expect(await field({ mimeType: 'image/**' })).toMatchObject({ code: 'VALIDATION', field: 'mimeType' });
    expect(await field({ startTime: '2026-02-01T00:00:00Z', endTime: '2026-01-01T00:00:00Z' })).toMatchObject({ code: 'VALIDATION', field: 'startTime' });
    expect(await field({ after: 'garbage' })).toMatchObject({ code: 'VALIDATION', field: 'after' });
  });

  it('costs the same few SQL statements at page sizes 10 and 100', async () => {
    const service = gateway.runtime.services.mediaItems;
    const wav = makeWav(50);
    for (let i = 0; i < 100; i++) await service.upload(accountId, new File([new Uint8Array(wav)], `bulk-${i}.wav`), { title: `bulk ${i}` });
    const measure = async (pageSize: number) => {
      let res: Awaited<ReturnType<typeof list>> | undefined;
      const counted = await countStatements(gateway, async () => {
        res = await gql(gateway, h(), `query($n: Int) { mediaItems(pageSize: $n) { totalCount edges { node { uuid title account { name } thumbnailUrl downloadUrl } } } }`, { n: pageSize });
      });
      expect(res!.body.errors).toBeUndefined();
      expect(res!.body.data.mediaItems.edges).toHaveLength(pageSize);
      return counted;
    };
    await measure(10); // warm: the key's lastUsedAt update happens at most once a minute
    const ten = await measure(10);
    const hundred = await measure(100);
    console.log(`SQL statements per list request: pageSize 10 -> ${ten.count}, pageSize 100 -> ${hundred.count}`, hundred.statements);
    expect(hundred.count).toBe(ten.count);
    expect(ten.count).toBeLessThanOrEqual(2); // key lookup + one page query with count(*) over()
  });
});
