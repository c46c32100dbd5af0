// GraphQL queries and mutations for entity files. Resolvers stay thin: FileService does the work.
import { z } from 'zod';
import { builder } from '../../platform/graphql/builder.js';
import { connectionType, keysetConnection, pageArgs } from '../../platform/graphql/paging.js';
import type { FileRow } from '../tables.js';
import { FileEntityTypeEnum, FileRef, FileStatusEnum, unix } from './types.js';
import './subscriptions.js';

const FileUploadRef = builder.objectRef<{ file: FileRow; upload: { url: string; method: 'PUT'; headers: Record<string, string>; expiresAt: Date } }>('FileUpload').implement({
  description: 'Send the bytes with uploadMethod to uploadUrl with exactly uploadHeaders, then call completeFileUpload (local storage completes by itself).',
  fields: (t) => ({
    file: t.field({ type: FileRef, resolve: (r) => r.file }),
    uploadUrl: t.string({ resolve: (r) => r.upload.url }),
    uploadMethod: t.string({ resolve: (r) => r.upload.method }),
    uploadHeaders: t.field({ type: 'JSON', resolve: (r) => r.upload.headers }),
    uploadExpiresAt: t.field({ type: 'DateTime', resolve: (r) => r.upload.expiresAt }),
    uploadExpiresAtUnix: t.int({ resolve: (r) => unix(r.upload.expiresAt) }),
  }),
});

const entityIdOptions = { description: 'Format depends on entityType (see FileEntityType)', validate: z.string().min(1).max(512) };

const CreateFileUploadInput = builder.inputType('CreateFileUploadInput', {
  fields: (t) => ({
    entityType: t.field({ type: FileEntityTypeEnum }),
    entityId: t.string(entityIdOptions),
    contentType: t.string({ description: 'image/jpeg, image/png, image/webp or image/gif' }),
    fileSize: t.int({ description: 'Exact size in bytes; the upload must match it (at most MAX_FILE_BYTES)' }),
    fileName: t.string({ required: false, validate: z.string().max(255).nullish() }),
  }),
});

const UploadFileInput = builder.inputType('UploadFileInput', {
  fields: (t) => ({
    entityType: t.field({ type: FileEntityTypeEnum }),
    entityId: t.string(entityIdOptions),
    file: t.field({ type: 'Upload', description: 'At most MAX_FILE_BYTES', extensions: { uploadLimit: 'maxFileBytes' } }),
  }),
});

const FileConnection = connectionType(FileRef, 'FileConnection');

builder.queryFields((t) => ({
  file: t.field({ type: FileRef, args: { id: t.arg.id() }, resolve: (_r, a, ctx) => ctx.services.files.require(ctx.account.id, String(a.id)) }),
  filesByEntity: t.field({
    type: FileConnection,
    description: 'Files of one entity, newest first. Pass pageInfo.endCursor as `after` for the next page.',
    args: {
      entityType: t.arg({ type: FileEntityTypeEnum }),
      entityId: t.arg.string(),
      ...pageArgs,
      status: t.arg({ type: FileStatusEnum, required: false }),
    },
    resolve: async (_r, a, ctx) => {
      const page = await ctx.services.files.listByEntity(ctx.account.id, { entityType: a.entityType, entityId: a.entityId, first: a.first ?? 20, after: a.after, status: a.status });
      return keysetConnection(page, a.after);
    },
  }),
}));

builder.mutationFields((t) => ({
  createFileUpload: t.field({
    type: FileUploadRef,
    description: 'Starts a direct upload: returns the file (UPLOADING) and a signed PUT link valid for UPLOAD_TTL_SECONDS.',
    args: { input: t.arg({ type: CreateFileUploadInput }) },
    resolve: (_r, { input }, ctx) => ctx.services.files.createUpload(ctx.account.id, input),
  }),
  completeFileUpload: t.field({
    type: FileRef,
    description: 'After the PUT: checks the object (CONFLICT when missing or of another size), then UPLOADED and queued for processing.',
    args: { id: t.arg.id() },
    resolve: (_r, a, ctx) => ctx.services.files.completeUpload(ctx.account.id, String(a.id)),
  }),
  uploadFile: t.field({
    type: FileRef,
    description: 'One-step multipart upload for small files (at most MAX_FILE_BYTES); the file is queued for processing.',
    args: { input: t.arg({ type: UploadFileInput }) },
    resolve: (_r, { input }, ctx) => ctx.services.files.uploadDirect(ctx.account.id, input),
  }),
  deleteFile: t.field({
    type: 'ID',
    description: 'Deletes the record now and its objects shortly after; returns the id.',
    args: { id: t.arg.id() },
    resolve: async (_r, a, ctx) => (await ctx.services.files.delete(ctx.account.id, String(a.id))).id,
  }),
}));
