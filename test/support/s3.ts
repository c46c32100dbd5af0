// A real S3-speaking server (s3rver) on a random port, one bucket, temp dir.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

// s3rver ships no types; this is the slice of its 3.7 API used here.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
  /** Koa's middleware list, composed when run() starts listening. */
  middleware: KoaMiddleware[];
}
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string; configs: string[] }[];
}) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

export interface TestS3 {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** s3rver's storage dir, to assert nothing is left behind */
  directory: string;
  /** Where s3rver keeps the parts of unfinished multipart uploads, one directory per upload id. */
  uploadsDir: string;
  /** Upload ids AbortMultipartUpload was called with (only with implementAbort). */
  aborted: string[];
  close(): Promise<void>;
}

export interface S3Options {
  /**
   * s3rver 3.7 answers AbortMultipartUpload with 405 and keeps the parts. With
   * this, the server does what S3 does instead: removes the upload's parts
   * (204), or answers 404 NoSuchUpload for an unknown id.
   */
  implementAbort?: boolean;
}

export async function startS3(bucket = 'media-test', options: S3Options = {}): Promise<TestS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  // s3rver's layout: <directory>/<bucket>/._S3rver_uploads/<uploadId>/<part number>
  const uploadsDir = path.join(directory, bucket, '._S3rver_uploads');
  const aborted: string[] = [];
  if (options.implementAbort) {
    server.middleware.unshift(async (ctx, next) => {
      const uploadId = ctx.query.uploadId;
      if (ctx.method !== 'DELETE' || typeof uploadId !== 'string' || ctx.path.split('/')[1] !== bucket) return next();
      aborted.push(uploadId);
      const parts = path.join(uploadsDir, path.basename(uploadId));
      if (!existsSync(parts)) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${uploadId}</UploadId></Error>`;
        return;
      }
      await rm(parts, { recursive: true, force: true });
      ctx.status = 204;
    });
  }
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    uploadsDir,
    aborted,
    async close() {
      // Clients may keep sockets alive; do not wait for them to time out.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
