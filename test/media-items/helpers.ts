// Shared pieces of the media library tests: real multipart uploads and generated fixtures.
import { createClient as createWsClient } from 'graphql-ws';
import sharp from 'sharp';
import WebSocket from 'ws';
import type { TestGateway } from '../support/gateway.js';

export const ITEM_FIELDS = `id uuid originalFileName mimeType storeId maxDownloadsAllowed timesDownloaded etag mediaSize sha256 width height
  timeCreated timeLastUpdated public metadataPrimary metadataSecondary title description account { id name } thumbnailUrl downloadUrl`;

export interface UploadOptions {
  name?: string;
  /** what the client claims; the gateway must ignore it */
  type?: string;
  input?: Record<string, unknown>;
  fields?: string;
}

/** POSTs uploadMediaItem per the GraphQL multipart request spec. */
export async function upload(gateway: Pick<TestGateway, 'graphqlUrl'>, key: string | undefined, bytes: Buffer, options: UploadOptions = {}) {
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: `mutation($input: UploadMediaItemInput!) { uploadMediaItem(input: $input) { ${options.fields ?? ITEM_FIELDS} } }`,
      variables: { input: { file: null, ...options.input } },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.set('0', new Blob([new Uint8Array(bytes)], { type: options.type ?? 'application/octet-stream' }), options.name ?? 'upload.bin');
  const res = await fetch(gateway.graphqlUrl, { method: 'POST', body: form, headers: { ...(key ? { 'x-api-key': key } : {}) } });
  const body = (await res.json()) as { data?: { uploadMediaItem: any }; errors?: { message: string; extensions?: Record<string, any> }[] };
  return { status: res.status, body, item: body.data?.uploadMediaItem };
}

/** A 64×32 JPEG whose EXIF says "rotate 90°": displayed as 32×64. */
export function makeJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/** PCM WAV: 16-bit mono at 8 kHz, a short sine. */
export function makeWav(samples = 8000): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((i / 8000) * 2 * Math.PI * 440) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Counts SQL statements the gateway's pool sends while `run` runs. */
export async function countStatements(gateway: TestGateway, run: () => Promise<unknown>): Promise<{ count: number; statements: string[] }> {
  const options = (gateway.runtime.services.database.sql as unknown as { options: { debug?: unknown } }).options;
  const statements: string[] = [];
  const previous = options.debug;
  options.debug = (_conn: number, query: string) => void statements.push(query);
  try {
    await run();
  } finally {
    options.debug = previous;
  }
  return { count: statements.length, statements };
}

export async function waitUntil<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface MediaEvent {
  type: string;
  mediaItemId: string;
  mediaItemUuid: string;
  mediaItem: Record<string, any> | null;
}

/** A real graphql-ws client on mediaItemEvents that keeps what it receives. */
export function subscribeMediaEvents(baseUrl: string, key: string, query = 'subscription { mediaItemEvents { type mediaItemId mediaItemUuid mediaItem { uuid thumbnailUrl width height } } }') {
  const events: MediaEvent[] = [];
  const errors: unknown[] = [];
  const client = createWsClient({ url: `${baseUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': key }, retryAttempts: 0 });
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  client.on('connected', () => setTimeout(connected, 100));
  const stop = client.subscribe<{ mediaItemEvents: MediaEvent }>(
    { query },
    { next: (r) => (r.data ? events.push(r.data.mediaItemEvents) : errors.push(r.errors)), error: (e) => errors.push(e), complete: () => {} },
  );
  return {
    events,
    errors,
    ready,
    waitFor: (type: string, uuid: string, timeoutMs = 15_000) =>
      waitUntil(async () => events.find((e) => e.type === type && e.mediaItemUuid === uuid), timeoutMs, `${type} event for ${uuid}; got ${JSON.stringify(events)} errors ${JSON.stringify(errors)}`),
    close: async () => (stop(), await client.dispose()),
  };
}
