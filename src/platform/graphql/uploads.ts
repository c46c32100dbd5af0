// GraphQL multipart requests without holding files in memory. graphql-yoga's
// own parser collects each file part in RAM before any resolver runs; this
// plugin parses the request with busboy instead and spools every file part to
// a temp file as it arrives, so a 5 GiB upload costs disk, not heap. Resolvers
// see an ordinary File-like value (name, type, size, stream(), arrayBuffer())
// and stream it onwards; temp files go when the response is sent.
import Busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** A file part spooled to disk. Bytes past the configured cap are dropped, so size > cap tells the resolver it was too large. */
export class SpooledUpload {
  constructor(
    readonly name: string,
    readonly type: string,
    readonly size: number,
    private readonly file: string,
  ) {}

  stream(): WebReadableStream<Uint8Array> {
    return Readable.toWeb(fs.createReadStream(this.file)) as WebReadableStream<Uint8Array>;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const data = await fs.promises.readFile(this.file);
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return fs.promises.readFile(this.file, 'utf8');
  }
}

// Any WHATWG-shaped stream (yoga may hand over a ponyfill that Readable.fromWeb rejects).
function webBodyToNode(body: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } }): Readable {
  const reader = body.getReader();
  return Readable.from(
    (async function* () {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        if (value) yield value;
      }
    })(),
  );
}

const badRequest = (message: string) => createGraphQLError(message, { extensions: { code: 'VALIDATION', field: 'multipart', http: { status: 400 } } });

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node: any = target;
  for (const part of parts.slice(0, -1)) {
    if (node == null || typeof node !== 'object' || !(part in node)) throw badRequest(`map points at a missing path "${dotted}"`);
    node = node[part];
  }
  const last = parts.at(-1)!;
  if (node == null || typeof node !== 'object' || node[last] !== null) throw badRequest(`map path "${dotted}" must hold null in operations`);
  node[last] = value;
}

export interface StreamingUploadOptions {
  /** Per-file cap; one byte more is kept so the resolver can tell and refuse with LIMIT_EXCEEDED. */
  maxFileBytes: number;
  maxFiles?: number;
  tmpDir?: string;
}

export function useStreamingUploads(options: StreamingUploadOptions): Plugin {
  const tmpDir = options.tmpDir ?? path.join(os.tmpdir(), 'media-gateway-uploads');
  const spooled = new WeakMap<Request, string[]>();

  async function parse(request: Request, nodeRequest: IncomingMessage | undefined): Promise<Record<string, unknown>> {
    // The raw Node request is the cheapest source; yoga's ponyfilled body is the fallback.
    const source = nodeRequest ?? (request.body ? webBodyToNode(request.body) : undefined);
    if (!source) throw badRequest('multipart request without a body');
    await fs.promises.mkdir(tmpDir, { recursive: true });
    const files: string[] = [];
    spooled.set(request, files);
    const busboy = Busboy({
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
      limits: { fileSize: options.maxFileBytes + 1, files: options.maxFiles ?? 10, fields: 10, fieldSize: 1024 * 1024 },
    });
    let operations: Record<string, unknown> | undefined;
    let map: Record<string, string[]> | undefined;
    const uploads = new Map<string, Promise<SpooledUpload>>();
    let failure: Error | undefined;

    busboy.on('field', (name, value) => {
      try {
        if (name === 'operations') operations = JSON.parse(value);
        else if (name === 'map') map = JSON.parse(value);
      } catch {
        failure ??= badRequest(`multipart field "${name}" is not JSON`);
      }
    });
    busboy.on('file', (name, stream, info) => {
      const file = path.join(tmpDir, randomUUID());
      files.push(file);
      let size = 0;
      stream.on('data', (chunk: Buffer) => (size += chunk.length));
      uploads.set(
        name,
        pipeline(stream, fs.createWriteStream(file)).then(() => new SpooledUpload(info.filename ?? 'upload', info.mimeType, size, file)),
      );
    });
    busboy.on('filesLimit', () => (failure ??= badRequest(`at most ${options.maxFiles ?? 10} files per request`)));

    await pipeline(source, busboy).catch((err: Error) => {
      failure ??= badRequest(`malformed multipart request: ${err.message}`);
    });
    if (failure) throw failure;
    if (!operations || typeof operations !== 'object') throw badRequest('multipart request needs an "operations" field first (GraphQL multipart request spec)');
    for (const [name, paths] of Object.entries(map ?? {})) {
      const upload = uploads.get(name);
      if (!upload) throw badRequest(`map names file "${name}" that was not sent`);
      const value = await upload;
      for (const dotted of paths) setPath(operations, dotted, value);
    }
    return operations;
  }

  return {
    onRequestParse({ request, setRequestParser, serverContext }) {
      if (request.method === 'POST' && (request.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) {
        const nodeRequest = (serverContext as { req?: IncomingMessage }).req;
        setRequestParser(((req: Request) => parse(req, nodeRequest)) as never);
      }
    },
    onResponse({ request }) {
      for (const file of spooled.get(request) ?? []) fs.promises.rm(file, { force: true }).catch(() => {});
    },
  };
}
