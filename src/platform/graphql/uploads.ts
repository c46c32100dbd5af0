// GraphQL multipart requests without holding files in memory, and without
// taking bytes nobody asked for. graphql-yoga's own parser collects each file
// part in RAM; this plugin parses the request with busboy instead:
//
// - `operations` and `map` come first (the spec says so); they are checked
//   against the schema before any file byte is read (upload-targets.ts), so a
//   part that no Upload takes is refused, and each part is capped by the limit
//   of the field it fills;
// - file parts stream to `<DATA_DIR>/spool`, counted as they arrive; a part
//   past its cap, or the request past its total, is refused at once (413),
//   the rest of the body is never read and the connection closes;
// - a request that breaks off (client gone, body truncated) is answered 400
//   when anyone is left to hear it; every spooled file is removed, whatever
//   happened, once the response is over. No promise is left without a handler.
//
// Resolvers see an ordinary File-like value (name, type, size, stream(),
// arrayBuffer()) and stream it onwards.
import Busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { GraphQLSchema } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { AppError, LimitExceededError, ValidationError } from '../errors.js';
import { discardRestOfBody } from '../http/refused-body.js';
import { jsonNestsDeeperThan, rawDepthCap, tooDeepMessage } from './input-checks.js';
import { placeUpload, resolveUploadTargets, type ByteLimits, type UploadTarget } from './upload-targets.js';

/** A file part spooled to disk. */
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

/** AppErrors become GraphQL errors with their code, field and HTTP status, the shape yoga answers with. */
function toRequestError(error: AppError): Error {
  return createGraphQLError(error.message, { extensions: { ...error.toJSON(), message: undefined, http: { status: error.httpStatus, spec: false } } });
}

export interface StreamingUploadOptions {
  schema: GraphQLSchema;
  /** Named byte caps an Upload field points at with extensions.uploadLimit (config.limits). */
  limits: ByteLimits;
  spoolDir: string;
  /** File parts per request. */
  maxFiles: number;
  /** All file parts of a request together. */
  maxRequestBytes: number;
  /** Each of the `operations` and `map` fields. */
  maxFieldBytes: number;
  /** Nesting allowed in variables (the fields are scanned before they are parsed). */
  maxVariableDepth: number;
  maxTokens: number;
}

interface RequestStreams {
  req?: IncomingMessage;
  res?: ServerResponse;
}

/** One multipart request being read: its spooled files, and the first failure, which ends it. */
class MultipartRead {
  private operations: unknown;
  private targets?: Map<string, UploadTarget>;
  private readonly uploads = new Map<string, SpooledUpload>();
  private readonly received = new Set<string>();
  private readonly spooled: string[] = [];
  private readonly writes = new Set<Promise<void>>();
  private totalBytes = 0;
  private failure?: Error;
  private parsed = false;
  private settle!: { resolve(value: Record<string, unknown>): void; reject(err: Error): void };

  constructor(
    private readonly options: StreamingUploadOptions,
    private readonly source: Readable,
    private readonly busboy: Busboy.Busboy,
    private readonly streams: RequestStreams,
  ) {}

  run(): Promise<Record<string, unknown>> {
    const { busboy, source, streams } = this;
    const done = new Promise<Record<string, unknown>>((resolve, reject) => (this.settle = { resolve, reject }));
    busboy.on('field', (name, value, info) => this.onField(name, value, info.valueTruncated));
    busboy.on('file', (name, stream, info) => this.onFile(name, stream, info));
    busboy.on('fieldsLimit', () => this.fail(new ValidationError('multipart', 'only the "operations" and "map" fields may accompany the files')));
    busboy.on('filesLimit', () => this.fail(new LimitExceededError(`at most ${this.options.maxFiles} files per request (MAX_UPLOAD_FILES)`)));
    busboy.on('partsLimit', () => this.fail(new LimitExceededError(`at most ${this.options.maxFiles} files per request (MAX_UPLOAD_FILES)`)));
    busboy.on('error', (err: Error) => this.fail(new ValidationError('multipart', `malformed multipart body: ${err.message}`)));
    busboy.on('finish', () => void this.finish());
    source.on('error', (err: Error) => this.fail(new ValidationError('multipart', `the request broke off: ${err.message}`)));
    streams.req?.on('close', () => {
      if (!streams.req!.complete) this.fail(new ValidationError('multipart', 'the client closed the request before sending all of it'));
    });
    // Whatever the outcome, spooled files go once the response is over (or the connection is).
    streams.res?.once('close', () => {
      this.fail(new ValidationError('multipart', 'the connection closed'));
      void this.removeSpooled();
    });
    source.pipe(busboy);
    return done;
  }

  private onField(name: string, value: string, truncated: boolean): void {
    if (this.failure) return;
    if (truncated) return this.fail(new LimitExceededError(`multipart field "${name}" is larger than the ${this.options.maxFieldBytes}-byte limit (MAX_REQUEST_BODY_BYTES)`));
    if (name !== 'operations' && name !== 'map') return;
    if (name === 'map' && this.operations === undefined) return this.fail(new ValidationError('map', 'the "operations" field must come before "map" (GraphQL multipart request spec)'));
    if (jsonNestsDeeperThan(Buffer.from(value), rawDepthCap(this.options))) return this.fail(new ValidationError(name, tooDeepMessage(this.options)));
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      return this.fail(new ValidationError(name, 'is not JSON'));
    }
    if (name === 'operations') {
      this.operations = json;
      return;
    }
    try {
      this.targets = resolveUploadTargets(this.options.schema, this.operations, json, { limits: this.options.limits, maxFiles: this.options.maxFiles, maxTokens: this.options.maxTokens });
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private onFile(name: string, stream: Readable, info: { filename?: string; mimeType: string }): void {
    // A part we refuse is never piped anywhere, and ending the read destroys it
    // with an error: without a listener that error would end the process.
    stream.on('error', () => {});
    if (this.failure) {
      stream.resume();
      return;
    }
    if (!this.targets) return this.fail(new ValidationError('multipart', '"operations" and "map" must come before the files (GraphQL multipart request spec)'), stream);
    const target = this.targets.get(name);
    if (!target) return this.fail(new ValidationError('map', `file part "${name}" is not in map: no Upload variable takes it`), stream);
    if (this.received.has(name)) return this.fail(new ValidationError('multipart', `file part "${name}" was sent twice`), stream);
    this.received.add(name);
    const file = path.join(this.options.spoolDir, `${randomUUID()}.part`);
    this.spooled.push(file);
    let size = 0;
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, next) => {
        size += chunk.length;
        this.totalBytes += chunk.length;
        if (size > target.maxBytes) return next(new LimitExceededError(`file part "${name}" is larger than the ${target.maxBytes}-byte limit of ${target.limitSource}`));
        if (this.totalBytes > this.options.maxRequestBytes) return next(new LimitExceededError(`the files of this request are larger than the ${this.options.maxRequestBytes}-byte limit (MAX_UPLOAD_REQUEST_BYTES)`));
        next(null, chunk);
      },
    });
    const write = pipeline(stream, counter, fs.createWriteStream(file, { flags: 'wx' })).then(
      () => {
        this.uploads.set(name, new SpooledUpload(info.filename || 'upload', info.mimeType, size, file));
      },
      (err: Error) => this.fail(err instanceof AppError ? err : new ValidationError('multipart', `file part "${name}" broke off: ${err.message}`)),
    );
    this.writes.add(write);
  }

  private async finish(): Promise<void> {
    await Promise.all(this.writes);
    if (this.failure || this.parsed) return;
    try {
      if (this.operations === undefined) throw new ValidationError('multipart', 'the request has no "operations" field (GraphQL multipart request spec)');
      const targets = this.targets ?? resolveUploadTargets(this.options.schema, this.operations, {}, { limits: this.options.limits, maxFiles: this.options.maxFiles, maxTokens: this.options.maxTokens });
      const operations = this.operations as Record<string, unknown>;
      for (const [name, target] of targets) {
        const upload = this.uploads.get(name);
        if (!upload) throw new ValidationError('map', `names file part "${name}" that was not sent`);
        for (const dotted of target.paths) placeUpload(operations, dotted, upload);
      }
      this.parsed = true;
      this.settle.resolve(operations);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** The first failure ends the read: stop reading, drop what was spooled, answer with it. */
  private fail(error: Error, pending?: Readable): void {
    pending?.resume();
    if (this.failure || this.parsed) return;
    this.failure = error;
    this.source.unpipe(this.busboy);
    // Ends any file part being written (its pipeline rejects into this.writes' handler).
    this.busboy.destroy();
    // Nothing more is spooled; the client may still be sending, so let it see the answer.
    if (this.streams.req) discardRestOfBody(this.streams.req);
    else this.source.destroy();
    void this.removeSpooled().then(() => this.settle.reject(error instanceof AppError ? toRequestError(error) : error));
  }

  private async removeSpooled(): Promise<void> {
    await Promise.all(this.writes);
    await Promise.all(this.spooled.map((file) => fs.promises.rm(file, { force: true }).catch(() => {})));
  }
}

export function useStreamingUploads(options: StreamingUploadOptions): Plugin {
  async function parse(request: Request, streams: RequestStreams): Promise<Record<string, unknown>> {
    // The raw Node request is the cheapest source; yoga's ponyfilled body is the fallback.
    const source = streams.req ?? (request.body ? webBodyToNode(request.body) : undefined);
    if (!source) throw toRequestError(new ValidationError('multipart', 'multipart request without a body'));
    let busboy: Busboy.Busboy;
    try {
      busboy = Busboy({
        headers: { 'content-type': request.headers.get('content-type') ?? '' },
        limits: { fields: 2, fieldSize: options.maxFieldBytes, files: options.maxFiles, parts: options.maxFiles + 2 },
      });
    } catch (err) {
      // e.g. "Multipart: Boundary not found"
      throw toRequestError(new ValidationError('multipart', `the Content-Type needs a boundary: ${(err as Error).message}`));
    }
    await fs.promises.mkdir(options.spoolDir, { recursive: true });
    return new MultipartRead(options, source, busboy, streams).run();
  }

  return {
    onRequestParse({ request, setRequestParser, serverContext }) {
      if (request.method === 'POST' && (request.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) {
        const streams = serverContext as RequestStreams;
        setRequestParser(((req: Request) => parse(req, streams)) as never);
      }
    },
  };
}
