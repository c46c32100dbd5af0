// DownloadTask (a Relay node) in the reference's shape, plus what the job core
// gives every job; and the account's storage destinations.
import { builder } from '../../platform/graphql/builder.js';
import { parseId } from '../../platform/ids.js';
import { JobRef } from '../../jobs/graphql.js';
import { registerJobKind } from '../../jobs/kinds.js';
import { DOWNLOAD_TASK_TOPIC } from '../service.js';
import { DOWNLOAD_TASK_STATES, downloadTasks, STORAGE_TYPES, type DownloadTaskInput, type DownloadTaskResult, type DownloadTaskRow, type StorageDestination } from '../tables.js';

export const parseTaskId = (raw: string | number) => parseId(raw, 'DownloadTask');

export const DownloadTaskStateEnum = builder.enumType('DownloadTaskState', {
  description: 'PENDING → IN_PROGRESS → SUCCESS | FAILED',
  values: DOWNLOAD_TASK_STATES,
});

export const StorageTypeEnum = builder.enumType('StorageType', {
  description: 'S3 (and S3-compatibles: MinIO, R2, Spaces), GS (Google Cloud Storage), LOCAL (file://, when the operator allows it)',
  values: STORAGE_TYPES,
});

const StorageTargetRef = builder.objectRef<NonNullable<DownloadTaskInput['storage']>>('DownloadTaskStorage').implement({
  fields: (t) => ({
    type: t.field({ type: StorageTypeEnum, resolve: (s) => s.type }),
    url: t.exposeString('url', { description: 'Normalised: scheme://bucket/prefix/' }),
    objectName: t.exposeString('objectName', { nullable: true }),
  }),
});

const DownloadTaskRequestRef = builder.objectRef<DownloadTaskInput>('DownloadTaskRequest').implement({
  description: 'What was asked, normalised, with the defaults filled in',
  fields: (t) => ({
    url: t.exposeString('url'),
    country: t.exposeString('country'),
    locale: t.exposeString('locale', { nullable: true }),
    expectedMimeTypes: t.exposeStringList('expectedMimeTypes', { nullable: true }),
    storage: t.field({ type: StorageTargetRef, nullable: true, description: "null: the account's default storage", resolve: (i) => i.storage }),
    storageCompress: t.exposeBoolean('storageCompress'),
    callbackUrl: t.exposeString('callbackUrl', { nullable: true }),
  }),
});

const DownloadTaskResultRef = builder.objectRef<DownloadTaskResult>('DownloadTaskResult').implement({
  description: 'The stored object',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'e.g. s3://bucket/prefix/name.jpg' }),
    key: t.exposeString('key', { description: 'Key under the destination' }),
    size: t.exposeFloat('size', { description: 'Bytes stored (compressed size when gzipped)' }),
    contentType: t.exposeString('contentType', { description: 'Sniffed from the bytes' }),
    contentEncoding: t.exposeString('contentEncoding', { nullable: true, description: 'gzip when storageCompress' }),
    etag: t.exposeString('etag'),
    sha256: t.exposeString('sha256', { description: 'Of the stored bytes' }),
  }),
});

export const DownloadTaskRef = builder.objectRef<DownloadTaskRow>('DownloadTask');

registerJobKind({
  kind: 'DOWNLOAD',
  typename: 'DownloadTask',
  topic: DOWNLOAD_TASK_TOPIC,
  table: downloadTasks,
  statuses: { PENDING: ['PENDING'], RUNNING: ['IN_PROGRESS'], SUCCESS: ['SUCCESS'], FAILED: ['FAILED'] },
  toSource: (row) => row,
  isSource: (value) => typeof value === 'object' && value !== null && 'destinationUrl' in value,
  load: (ctx, ids) => ctx.services.downloadTasks.getMany(ctx.account.id, ids),
});

builder.node(DownloadTaskRef, {
  description: 'A media URL downloaded into a storage destination (the media-download-async reference). error.code: URL_NOT_ALLOWED, HTTP_<status>, MIME_NOT_EXPECTED, TOO_LARGE, FETCH_TIMEOUT, FETCH_NETWORK, CANCELLED, INTERNAL.',
  interfaces: [JobRef],
  id: { resolve: (row) => row.id },
  loadMany: (ids, ctx) => ctx.services.downloadTasks.getMany(ctx.account.id, ids.map(parseTaskId)),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: "The task's UUID (the reference's id)" }),
    state: t.field({ type: DownloadTaskStateEnum, resolve: (row) => row.status }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    modifiedAt: t.expose('updatedAt', { type: 'DateTime' }),
    accountName: t.exposeString('accountName'),
    apiType: t.string({ resolve: () => 'media' }),
    input: t.field({ type: DownloadTaskRequestRef, resolve: (row) => row.input }),
    result: t.field({ type: DownloadTaskResultRef, nullable: true, description: 'Set once SUCCESS', resolve: (row) => row.result ?? null }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const StorageDestinationRef = builder.objectRef<StorageDestination>('StorageDestination').implement({
  description: 'A place this account may download into; a task may write anywhere under its URL.',
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    type: t.field({ type: StorageTypeEnum, resolve: (d) => d.type }),
    endpoint: t.exposeString('endpoint', { nullable: true, description: 'S3-compatible endpoint (MinIO, R2, Spaces)' }),
    region: t.exposeString('region', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
