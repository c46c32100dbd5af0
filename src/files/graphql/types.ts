// The File object type and its enums, shared by queries, mutations and subscriptions.
import { builder } from '../../platform/graphql/builder.js';
import type { GraphQLContext } from '../../platform/graphql/context.js';
import type { SignedUrl } from '../../platform/storage/driver.js';
import { ENTITY_TYPE_NAMES, ENTITY_TYPES, entityIdFormat, type EntityType } from '../entity-types.js';
import { linkLifetime, linkLifetimeArgs } from '../../platform/graphql/link-lifetime.js';
import { files, FILE_STATUSES, type FileRow } from '../tables.js';
import { JobRef } from '../../jobs/graphql.js';
import { registerJobKind } from '../../jobs/kinds.js';
import { FILE_TOPIC } from '../service.js';

export const FileStatusEnum = builder.enumType('FileStatus', {
  description: 'UPLOADING → UPLOADED → PROCESSING → READY | FAILED',
  values: FILE_STATUSES,
});

export const FileEntityTypeEnum = builder.enumType('FileEntityType', {
  description: 'What a file can be attached to; each type has its own entityId format.',
  values: Object.fromEntries(
    ENTITY_TYPE_NAMES.map((name) => [name, { description: `${ENTITY_TYPES[name].description}. entityId: ${entityIdFormat(name)}, e.g. ${ENTITY_TYPES[name].example}` }]),
  ) as Record<EntityType, { description: string }>,
});

export const unix = (date: Date) => Math.floor(date.getTime() / 1000);

// downloadUrl and downloadExpiresAt must describe the same link: sign once per
// file, kind and lifetime within one operation.
const signed = new WeakMap<GraphQLContext, Map<string, Promise<SignedUrl | null>>>();
function link(ctx: GraphQLContext, file: FileRow, kind: 'download' | 'thumbnail', seconds: number | null | undefined) {
  const lifetime = linkLifetime(seconds);
  let cache = signed.get(ctx);
  if (!cache) signed.set(ctx, (cache = new Map()));
  const key = `${file.id}:${file.status}:${kind}:${lifetime}`;
  let promise = cache.get(key);
  if (!promise) cache.set(key, (promise = ctx.services.files.signedLink(file, kind, lifetime)));
  return promise;
}

export const FileRef = builder.objectRef<FileRow>('File').implement({
  description: 'A file attached to a business entity, with its processing state and signed links.',
  fields: (t) => {
    const linkFields = (kind: 'download' | 'thumbnail', when: string) => ({
      [`${kind}Url`]: t.string({ nullable: true, description: `Signed ${kind} link; only ${when}`, args: linkLifetimeArgs, resolve: async (f, a, ctx) => (await link(ctx, f, kind, a.expiresInSeconds))?.url ?? null }),
      [`${kind}ExpiresAt`]: t.field({ type: 'DateTime', nullable: true, args: linkLifetimeArgs, resolve: async (f, a, ctx) => (await link(ctx, f, kind, a.expiresInSeconds))?.expiresAt ?? null }),
      [`${kind}ExpiresAtUnix`]: t.int({ nullable: true, description: 'UNIX seconds', args: linkLifetimeArgs, resolve: async (f, a, ctx) => { const l = await link(ctx, f, kind, a.expiresInSeconds); return l ? unix(l.expiresAt) : null; } }),
    });
    return {
      id: t.exposeID('id'),
      contentType: t.exposeString('contentType', { description: 'Declared at upload, corrected to the real type by processing' }),
      fileSize: t.int({ description: 'Bytes (the declared size until the upload lands)', resolve: (f) => f.fileSize ?? f.declaredSize }),
      fileName: t.exposeString('fileName', { nullable: true }),
      entityType: t.field({ type: FileEntityTypeEnum, resolve: (f) => f.entityType as EntityType }),
      entityId: t.exposeString('entityId'),
      status: t.field({ type: FileStatusEnum, resolve: (f) => f.status }),
      failureReason: t.string({ nullable: true, description: 'Why the file FAILED', resolve: (f) => f.errorMessage }),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
      updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
      createdAtUnix: t.int({ description: 'UNIX seconds', resolve: (f) => unix(f.createdAt) }),
      updatedAtUnix: t.int({ description: 'UNIX seconds', resolve: (f) => unix(f.updatedAt) }),
      // The row keeps its link's expiry after the upload (to clean the staging key up); clients see it only while it matters.
      uploadExpiresAt: t.field({ type: 'DateTime', nullable: true, description: 'While UPLOADING: when an unfinished upload is swept to FAILED', resolve: (f) => (f.status === 'UPLOADING' ? f.uploadExpiresAt : null) }),
      width: t.exposeInt('width', { nullable: true, description: 'Display width after EXIF rotation' }),
      height: t.exposeInt('height', { nullable: true }),
      blurhash: t.exposeString('blurhash', { nullable: true, description: 'BlurHash (4×3 components) to paint while the image loads' }),
      dominantColor: t.exposeString('dominantColor', { nullable: true, description: '#rrggbb' }),
      ...linkFields('download', 'when READY'),
      ...linkFields('thumbnail', 'when a thumbnail exists'),
    };
  },
});


/** The processing of a file, as a Job (kind FILE_PROCESSING). */
export interface FileProcessingSource {
  fileProcessing: true;
  row: FileRow;
}

const asProcessing = (row: FileRow): FileProcessingSource => ({ fileProcessing: true, row });

registerJobKind({
  kind: 'FILE_PROCESSING',
  typename: 'FileProcessing',
  topic: FILE_TOPIC,
  table: files,
  // An upload not yet complete is waiting for its input: PENDING.
  statuses: { PENDING: ['UPLOADING', 'UPLOADED'], RUNNING: ['PROCESSING'], SUCCESS: ['READY'], FAILED: ['FAILED'] },
  toSource: (row) => asProcessing(row as FileRow),
  isSource: (value) => typeof value === 'object' && value !== null && (value as FileProcessingSource).fileProcessing === true,
  load: (ctx, ids) => ctx.services.files.getMany(ctx.account.id, ids),
});

export const FileProcessingRef = builder.objectRef<FileProcessingSource>('FileProcessing');

builder.node(FileProcessingRef, {
  description: 'The processing of an uploaded file (sniffing, dimensions, thumbnail, placeholders), as a Job.',
  interfaces: [JobRef],
  id: { resolve: (source) => source.row.id },
  loadMany: async (ids, ctx) => (await ctx.services.files.getMany(ctx.account.id, ids)).map((row) => (row ? asProcessing(row) : null)),
  fields: (t) => ({
    file: t.field({ type: FileRef, resolve: (source) => source.row }),
  }),
});

builder.objectField(FileRef, 'processing', (t) =>
  t.field({ type: FileProcessingRef, description: 'This file\'s processing, as a Job', resolve: (file) => asProcessing(file) }),
);
