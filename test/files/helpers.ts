// Shared pieces of the file tests: fixtures made with sharp, GraphQL shortcuts.
import zlib from 'node:zlib';
import sharp from 'sharp';
import { expect } from 'vitest';
import { gql, type TestGateway } from '../support/gateway.js';

export const ENTITY = '1RT823V93|SKU-001|DAMAGED|51076f94-b531-483c-884b-35ad67afa113';

export const FILE_FIELDS = 'id status contentType fileSize entityType entityId failureReason width height blurhash dominantColor createdAt createdAtUnix updatedAt updatedAtUnix downloadUrl downloadExpiresAt downloadExpiresAtUnix thumbnailUrl thumbnailExpiresAt thumbnailExpiresAtUnix';

/** A colourful gradient so thumbnails, hashes and colours have something to show. */
export async function makeImage(format: 'jpeg' | 'png' | 'webp' | 'gif', width = 640, height = 480): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = 3 * (y * width + x);
      raw[p] = Math.round((255 * x) / width);
      raw[p + 1] = 40;
      raw[p + 2] = Math.round((255 * y) / height);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}

/**
 * A decompression bomb: a real 64×64 PNG whose header is rewritten to promise
 * edge×edge pixels (with a valid CRC), so decoders believe the claim.
 */
export async function makePixelBomb(edge = 30_000): Promise<Buffer> {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } }).png().toBuffer();
  // Signature (8) + IHDR length (4) + "IHDR" (4), then width and height.
  png.writeUInt32BE(edge, 16);
  png.writeUInt32BE(edge, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}

export async function createUpload(gw: TestGateway, headers: Record<string, string>, input: { contentType: string; fileSize: number; entityId?: string; fileName?: string }) {
  const res = await gql(gw, headers, `mutation($input: CreateFileUploadInput!) { createFileUpload(input: $input) { file { id status } uploadUrl uploadMethod uploadHeaders uploadExpiresAt uploadExpiresAtUnix } }`, {
    input: { entityType: 'SHIPMENT_ITEM', entityId: ENTITY, fileName: 'photo', ...input },
  });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createFileUpload as { file: { id: string; status: string }; uploadUrl: string; uploadMethod: string; uploadHeaders: Record<string, string>; uploadExpiresAt: string; uploadExpiresAtUnix: number };
}

export async function putBytes(upload: { uploadUrl: string; uploadMethod: string; uploadHeaders: Record<string, string> }, body: Buffer): Promise<Response> {
  return fetch(upload.uploadUrl, { method: upload.uploadMethod, headers: upload.uploadHeaders, body: new Uint8Array(body) });
}

export async function getFile(gw: TestGateway, headers: Record<string, string>, id: string, fields = FILE_FIELDS) {
  return gql(gw, headers, `query($id: ID!) { file(id: $id) { ${fields} } }`, { id });
}

export async function waitForFile(gw: TestGateway, headers: Record<string, string>, id: string, done: (f: any) => boolean = (f) => f.status === 'READY' || f.status === 'FAILED', timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await getFile(gw, headers, id);
    const file = res.body.data?.file;
    if (file && done(file)) return file;
    if (Date.now() > deadline) throw new Error(`file ${id} not done: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Upload through the one-step multipart mutation (GraphQL multipart request spec). */
export async function uploadMultipart(gw: TestGateway, headers: Record<string, string>, bytes: Buffer, type: string, entityId = ENTITY) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: `mutation($input: UploadFileInput!) { uploadFile(input: $input) { id status contentType fileSize } }`, variables: { input: { entityType: 'SHIPMENT_ITEM', entityId, file: null } } }));
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', new Blob([new Uint8Array(bytes)], { type }), 'upload.bin');
  const res = await fetch(gw.graphqlUrl, { method: 'POST', headers, body: form });
  return { status: res.status, body: (await res.json()) as any };
}
