// Queries and mutations of the fetch domain. Resolvers stay thin: FetchJobService does the work.
import { z } from 'zod';
import { builder } from '../../platform/graphql/builder.js';
import { fetchesUrls } from '../../platform/graphql/key-limits.js';
import { connectionType, keysetConnection, pageArgs } from '../../platform/graphql/paging.js';
import { JobStatusEnum } from '../../jobs/graphql.js';
import { FetchJobRef, parseJobId, UrlMetadataRef } from './types.js';
import './subscriptions.js';

const mimeList = z.array(z.string().max(255)).max(50).nullish();

const CreateFetchJobInput = builder.inputType('CreateFetchJobInput', {
  fields: (t) => ({
    url: t.string({ description: 'A media URL or a page that points at media', validate: z.string().min(1).max(4096) }),
    webhookUrl: t.string({ required: false, description: 'Receives fetch_job.completed / fetch_job.failed', validate: z.string().max(2048).nullish() }),
    fileName: t.string({ required: false, description: 'Name for the stored file (default: from the server)', validate: z.string().min(1).max(255).nullish() }),
    expectedMimeTypes: t.stringList({ required: false, description: 'Accepted types, e.g. ["video/*", "image/png"]; checked on the sniffed bytes', validate: mimeList }),
    idempotencyKey: t.string({ required: false, description: 'Same key and input: the same job; same key, other input: CONFLICT', validate: z.string().min(1).max(255).nullish() }),
  }),
});

const FetchJobConnection = connectionType(FetchJobRef, 'FetchJobConnection');

builder.queryFields((t) => ({
  inspectUrl: t.field({
    type: UrlMetadataRef,
    description: 'Metadata of a URL without fetching it: no job is created and nothing is stored.',
    extensions: fetchesUrls,
    args: {
      url: t.arg.string({ validate: z.string().min(1).max(4096) }),
      expectedMimeTypes: t.arg.stringList({ required: false, validate: mimeList }),
    },
    resolve: (_r, a, ctx) => ctx.services.fetchJobs.inspectUrl(a.url, a.expectedMimeTypes),
  }),
  fetchJob: t.field({
    type: FetchJobRef,
    args: { id: t.arg.id({ description: 'Relay id or UUID' }) },
    resolve: (_r, a, ctx) => ctx.services.fetchJobs.require(ctx.account.id, parseJobId(a.id), String(a.id)),
  }),
  fetchJobs: t.field({
    type: FetchJobConnection,
    description: 'Your fetch jobs, newest first.',
    args: {
      status: t.arg({ type: JobStatusEnum, required: false }),
      ...pageArgs,
    },
    resolve: async (_r, a, ctx) => keysetConnection(await ctx.services.fetchJobs.list(ctx.account.id, { status: a.status, first: a.first ?? 20, after: a.after }), a.after),
  }),
}));

builder.mutationFields((t) => ({
  createFetchJob: t.field({
    type: FetchJobRef,
    description: 'Starts fetching; returns the job PENDING at once.',
    extensions: fetchesUrls,
    args: { input: t.arg({ type: CreateFetchJobInput }) },
    resolve: (_r, { input }, ctx) => ctx.services.fetchJobs.create(ctx.account.id, input),
  }),
  cancelFetchJob: t.field({
    type: FetchJobRef,
    description: 'Stops a PENDING or RUNNING job (FAILED with error CANCELLED); CONFLICT when it has already ended.',
    args: { id: t.arg.id() },
    resolve: (_r, a, ctx) => ctx.services.fetchJobs.cancel(ctx.account.id, parseJobId(a.id), String(a.id)),
  }),
}));
