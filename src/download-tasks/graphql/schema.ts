// Queries, mutations and the live subscription of download tasks; the
// destination allow-list on viewer. Resolvers stay thin.
import { z } from 'zod';
import { NotFoundError } from '../../platform/errors.js';
import { builder } from '../../platform/graphql/builder.js';
import { fetchesUrls } from '../../platform/graphql/key-limits.js';
import { resumeArgs, streamOptions } from '../../platform/graphql/events.js';
import { connectionType, keysetConnection, pageArgs } from '../../platform/graphql/paging.js';
import { AccountRef } from '../../platform/graphql/viewer.js';
import { liveRecord } from '../../jobs/live.js';
import { DOWNLOAD_TASK_TOPIC } from '../service.js';
import type { DownloadTaskRow } from '../tables.js';
import { DownloadTaskRef, DownloadTaskStateEnum, parseTaskId, StorageDestinationRef, StorageTypeEnum } from './types.js';

const StorageInput = builder.inputType('DownloadTaskStorageInput', {
  fields: (t) => ({
    type: t.field({ type: StorageTypeEnum, required: false, description: 'Inferred from the URL when omitted' }),
    url: t.string({ description: 's3://bucket/prefix/, gs://bucket/prefix/ (gcs:// too), or file:///path/ when enabled; must lie in one of your storageDestinations', validate: z.string().min(1).max(2048) }),
    objectName: t.string({ required: false, description: 'Stored as prefix + objectName + extension (default: the task id)', validate: z.string().max(512).nullish() }),
  }),
});

const CreateDownloadTaskInput = builder.inputType('CreateDownloadTaskInput', {
  fields: (t) => ({
    url: t.string({ description: 'The media URL', validate: z.string().min(1).max(4096) }),
    country: t.string({ required: false, defaultValue: 'US', description: 'ISO 3166-1 alpha-2; egress leaves through that country\'s proxy' }),
    locale: t.string({ required: false, description: 'BCP-47 tag (e.g. en-US) or "auto" (from the country); sets Accept-Language' }),
    expectedMimeTypes: t.stringList({ required: false, description: 'e.g. ["image/*", "video/mp4"]; checked on the sniffed bytes before anything is stored', validate: z.array(z.string().max(255)).max(50).nullish() }),
    storage: t.field({ type: StorageInput, required: false, description: "Omitted: the account's default storage" }),
    storageCompress: t.boolean({ required: false, defaultValue: false, description: 'gzip the stored object (key gets .gz, Content-Encoding: gzip)' }),
    callbackUrl: t.string({ required: false, description: 'Receives the task (without the data) when it ends, signed like a webhook', validate: z.string().max(2048).nullish() }),
    idempotencyKey: t.string({ required: false, description: 'Same key and input: the same task; same key, other input: CONFLICT', validate: z.string().min(1).max(255).nullish() }),
  }),
});

const AddStorageDestinationInput = builder.inputType('AddStorageDestinationInput', {
  fields: (t) => ({
    url: t.string({ description: 's3://bucket/prefix/, gs://bucket/prefix/ or (when enabled) file:///path/', validate: z.string().min(1).max(2048) }),
    endpoint: t.string({ required: false, description: 'S3-compatible endpoint, e.g. https://<account>.r2.cloudflarestorage.com', validate: z.string().max(2048).nullish() }),
    region: t.string({ required: false, validate: z.string().max(64).nullish() }),
  }),
});

const DownloadTaskConnection = connectionType(DownloadTaskRef, 'DownloadTaskConnection');

builder.objectField(AccountRef, 'storageDestinations', (t) =>
  t.field({
    type: [StorageDestinationRef],
    description: 'Where download tasks of this account may write (credentials are the operator\'s)',
    resolve: (_account, _a, ctx) => ctx.services.downloadTasks.destinations.list(ctx.account.id),
  }),
);

builder.queryFields((t) => ({
  downloadTask: t.field({
    type: DownloadTaskRef,
    args: { id: t.arg.id({ description: 'Relay id or UUID' }) },
    resolve: (_r, a, ctx) => ctx.services.downloadTasks.require(ctx.account.id, parseTaskId(a.id), String(a.id)),
  }),
  downloadTasks: t.field({
    type: DownloadTaskConnection,
    description: 'Your download tasks, newest first.',
    args: { state: t.arg({ type: DownloadTaskStateEnum, required: false }), ...pageArgs },
    resolve: async (_r, a, ctx) => keysetConnection(await ctx.services.downloadTasks.list(ctx.account.id, { state: a.state, first: a.first ?? 20, after: a.after }), a.after),
  }),
}));

builder.mutationFields((t) => ({
  createDownloadTask: t.field({
    type: DownloadTaskRef,
    description: 'Starts downloading a media URL into a storage destination; returns the task PENDING at once.',
    extensions: fetchesUrls,
    args: { input: t.arg({ type: CreateDownloadTaskInput }) },
    resolve: (_r, { input }, ctx) => ctx.services.downloadTasks.create(ctx.account, input),
  }),
  cancelDownloadTask: t.field({
    type: DownloadTaskRef,
    description: 'Stops a PENDING or IN_PROGRESS task (FAILED with error CANCELLED; the partial object is deleted); CONFLICT once it has ended.',
    args: { id: t.arg.id() },
    resolve: (_r, a, ctx) => ctx.services.downloadTasks.cancel(ctx.account.id, parseTaskId(a.id), String(a.id)),
  }),
  addStorageDestination: t.field({
    type: StorageDestinationRef,
    description: 'Allows download tasks to write under this URL (adding it again updates endpoint and region).',
    args: { input: t.arg({ type: AddStorageDestinationInput }) },
    resolve: (_r, { input }, ctx) => ctx.services.downloadTasks.destinations.add(ctx.account.id, input),
  }),
  removeStorageDestination: t.field({
    type: 'ID',
    description: 'Removes an allowed destination (by id or URL); returns its id.',
    args: { id: t.arg.id({ description: 'The destination id or its URL' }) },
    resolve: async (_r, a, ctx) => (await ctx.services.downloadTasks.destinations.remove(ctx.account.id, String(a.id))).id,
  }),
}));

const RANK = { PENDING: 0, IN_PROGRESS: 1, SUCCESS: 2, FAILED: 2 };

builder.subscriptionField('downloadTask', (t) =>
  t.field({
    type: DownloadTaskRef,
    description: 'The task now, then each state change and progress step (at most every 250 ms); completes after SUCCESS or FAILED.',
    args: { id: t.arg.id({ description: 'Relay id or UUID' }), ...resumeArgs },
    subscribe: (_r, a, ctx) => {
      const id = parseTaskId(a.id);
      return liveRecord<DownloadTaskRow>({
        events: ctx.services.events,
        accountId: ctx.account.id,
        topic: DOWNLOAD_TASK_TOPIC,
        id: id ?? String(a.id),
        ...streamOptions(a.after, ctx),
        load: () => (id ? ctx.services.downloadTasks.get(ctx.account.id, id) : Promise.resolve(undefined)),
        notFound: () => new NotFoundError('Download task', String(a.id)),
        rank: RANK,
        final: ['SUCCESS', 'FAILED'],
        asOf: (row, event) => {
          const status = event.data.status as DownloadTaskRow['status'];
          const bytesReceived = Number(event.data.bytesReceived ?? row.bytesReceived);
          if (status === 'SUCCESS' || status === 'FAILED') return row;
          if (row.status === status) return { ...row, bytesReceived };
          return { ...row, status, bytesReceived, finishedAt: null, result: null, errorCode: null, errorMessage: null };
        },
      });
    },
    resolve: (row) => row,
  }),
);
