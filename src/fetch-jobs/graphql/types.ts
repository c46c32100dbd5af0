// GraphQL object types of the fetch domain: FetchJob (a Relay node), its
// error, and UrlMetadata (inspectUrl's answer, also a job's `metadata`).
import { builder } from '../../platform/graphql/builder.js';
import { parseId } from '../../platform/ids.js';
import { VERDICTS, type UrlMetadata } from '../extractors/types.js';
import { JobRef } from '../../jobs/graphql.js';
import { registerJobKind } from '../../jobs/kinds.js';
import { downloadPath, FETCH_JOB_TOPIC } from '../service.js';
import { fetchJobs, type FetchJobRow } from '../tables.js';

/** Every id argument takes the Relay id or the job's UUID. */
export const parseJobId = (raw: string | number) => parseId(raw, 'FetchJob');


export const FetchVerdictEnum = builder.enumType('FetchVerdict', {
  description: 'Whether a fetch would be allowed, or why not',
  values: {
    ALLOWED: { description: 'A fetch would proceed' },
    URL_NOT_ALLOWED: { description: 'Refused by the egress policy (private address, bad scheme or port, too many redirects)' },
    MIME_NOT_ACCEPTED: { description: 'The media type (sniffed from its first bytes) is not among expectedMimeTypes' },
    TOO_LARGE: { description: 'Larger than MAX_FETCH_BYTES' },
    NO_MEDIA: { description: 'No extractor found media at this URL' },
    UNREACHABLE: { description: 'The server answered with an error or could not be reached' },
  } satisfies Record<(typeof VERDICTS)[number], { description: string }>,
});

export const UrlMetadataRef = builder.objectRef<UrlMetadata>('UrlMetadata').implement({
  description: 'What a URL holds, found without downloading it (a ranged read of the first 4 KiB).',
  fields: (t) => ({
    url: t.exposeString('url'),
    extractor: t.exposeString('extractor', { nullable: true, description: 'direct, html or oembed' }),
    mediaUrl: t.exposeString('mediaUrl', { nullable: true, description: 'The media a fetch would download' }),
    title: t.exposeString('title', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    thumbnailUrl: t.exposeString('thumbnailUrl', { nullable: true }),
    author: t.exposeString('author', { nullable: true, description: 'Author or uploader' }),
    provider: t.exposeString('provider', { nullable: true }),
    duration: t.exposeFloat('duration', { nullable: true, description: 'Seconds, when the page or provider says' }),
    mimeType: t.exposeString('mimeType', { nullable: true, description: 'Sniffed from the first bytes' }),
    size: t.exposeFloat('size', { nullable: true, description: 'Bytes, from Content-Range or Content-Length' }),
    fileName: t.exposeString('fileName', { nullable: true }),
    width: t.exposeInt('width', { nullable: true }),
    height: t.exposeInt('height', { nullable: true }),
    verdict: t.field({ type: FetchVerdictEnum, resolve: (m) => m.verdict }),
    verdictReason: t.exposeString('verdictReason', { nullable: true }),
  }),
});

export const FetchJobRef = builder.objectRef<FetchJobRow>('FetchJob');

registerJobKind({
  kind: 'FETCH',
  typename: 'FetchJob',
  topic: FETCH_JOB_TOPIC,
  table: fetchJobs,
  statuses: { PENDING: ['PENDING'], RUNNING: ['RUNNING'], SUCCESS: ['SUCCESS'], FAILED: ['FAILED'] },
  toSource: (row) => row,
  isSource: (value) => typeof value === 'object' && value !== null && 'metadata' in value && 'inputHash' in value,
  load: (ctx, ids) => ctx.services.fetchJobs.getMany(ctx.account.id, ids),
});

builder.node(FetchJobRef, {
  description: 'Fetching media from a URL into the media library: PENDING → RUNNING → SUCCESS | FAILED. error.code: URL_NOT_ALLOWED, HTTP_<status>, MIME_NOT_ACCEPTED, TOO_LARGE, NO_MEDIA, FETCH_TIMEOUT, FETCH_NETWORK, CANCELLED, INTERNAL.',
  interfaces: [JobRef],
  id: { resolve: (row) => row.id },
  // Account-scoped: another account's id loads nothing, exactly like a missing one.
  loadMany: (ids, ctx) => ctx.services.fetchJobs.getMany(ctx.account.id, ids.map(parseJobId)),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: "The job's UUID (used in the download path)" }),
    url: t.exposeString('url'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    metadata: t.field({ type: UrlMetadataRef, nullable: true, description: 'Set once the worker has inspected the URL', resolve: (row) => row.metadata ?? null }),
    attempts: t.exposeInt('attempts', { description: 'Attempts started (the same as attempt)' }),
    fileName: t.exposeString('fileName', { nullable: true }),
    expectedMimeTypes: t.exposeStringList('expectedMimeTypes', { nullable: true }),
    webhookUrl: t.exposeString('webhookUrl', { nullable: true }),
    downloadUrl: t.string({
      nullable: true,
      description: 'GET it with your API key: 302 to a short-lived signed link. Only when SUCCESS.',
      resolve: (row, _a, ctx) => downloadPath(row, ctx.services.config.publicUrl),
    }),
  }),
});
