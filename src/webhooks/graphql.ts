// Webhook secret, its rotation, and the delivery log. Resolvers stay thin: WebhookService does the work.
import { z } from 'zod';
import { builder } from '../platform/graphql/builder.js';
import { connectionType, keysetConnection, pageArgs } from '../platform/graphql/paging.js';
import { AccountRef } from '../platform/graphql/viewer.js';
import { DELIVERY_STATUSES, type WebhookAttempt, type WebhookDelivery, type WebhookEndpoint } from './tables.js';

const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'PENDING (being tried, or waiting for its next retry) → DELIVERED | FAILED (retries exhausted, or URL refused) | GAVE_UP (receiver answered 410)',
  values: DELIVERY_STATUSES,
});

const WebhookAttemptRef = builder.objectRef<WebhookAttempt>('WebhookAttempt').implement({
  description: 'One try at sending a delivery.',
  fields: (t) => ({
    attempt: t.exposeInt('attempt', { description: '1 for the first try' }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: "The receiver's HTTP status; null when no answer came" }),
    error: t.exposeString('error', { nullable: true, description: 'Why the attempt did not deliver, e.g. "HTTP 500" or "URL_NOT_ALLOWED: …"' }),
    at: t.expose('at', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs'),
  }),
});

export const WebhookEndpointRef = builder.objectRef<WebhookEndpoint>('WebhookEndpoint');

const WebhookDeliveryRef = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  description: 'One webhook message and its delivery state. Every attempt carries the same webhook-id header.',
  fields: (t) => ({
    id: t.exposeID('id'),
    webhookId: t.exposeString('webhookId', { description: 'The webhook-id header (msg_…), constant across retries: deduplicate on it' }),
    url: t.exposeString('url'),
    eventType: t.exposeString('eventType', { description: 'The body\'s "type", e.g. fetch_job.completed' }),
    payload: t.expose('payload', { type: 'JSON', description: 'The body\'s "data"' }),
    status: t.field({ type: WebhookDeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far' }),
    attemptLog: t.loadableGroup({
      type: WebhookAttemptRef,
      description: 'Every attempt, oldest first',
      load: (ids: string[], ctx) => ctx.services.webhooks.attemptsFor(ctx.account.id, ids),
      group: (attempt) => attempt.deliveryId,
      resolve: (d) => d.id,
    }),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    nextRetryAt: t.expose('nextRetryAt', { type: 'DateTime', nullable: true, description: 'When the next attempt is due; null once finished' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    endpoint: t.field({
      type: WebhookEndpointRef,
      nullable: true,
      description: 'The account endpoint it went to; null for a job\'s own webhookUrl/callbackUrl',
      resolve: async (d, _a, ctx) => (d.endpointId ? ((await ctx.services.webhooks.endpoints.get(ctx.account.id, d.endpointId)) ?? null) : null),
    }),
    eventSeq: t.string({ nullable: true, description: 'The event log position it carries (endpoint deliveries)', resolve: (d) => (d.eventSeq === null ? null : String(d.eventSeq)) }),
  }),
});

const WebhookDeliveryConnection = connectionType(WebhookDeliveryRef, 'WebhookDeliveryConnection');

WebhookEndpointRef.implement({
  description: 'An account endpoint: receives every event of the types it names, signed with its own secret, in order per record, at least once.',
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'e.g. ["file.ready", "fetch_job.*"] or ["*"]' }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'Why it is off: by the account, or after a run of failed deliveries' }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Deliveries that failed in a row (reset by one that arrives)' }),
    secret: t.exposeString('secret', { description: 'Its Standard Webhooks signing secret (whsec_…)' }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', { type: 'DateTime', nullable: true, description: 'Until then messages also carry a signature with the secret before the last rotation' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    deliveries: t.field({
      type: WebhookDeliveryConnection,
      description: 'Its deliveries, newest first',
      args: { ...pageArgs },
      resolve: async (e, a, ctx) => keysetConnection(await ctx.services.webhooks.list(ctx.account.id, { first: a.first ?? 20, after: a.after, endpointId: e.id }), a.after),
    }),
  }),
});

const WebhookEndpointInput = builder.inputType('WebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({ required: false, validate: z.string().min(1).max(2048).nullish() }),
    eventTypes: t.stringList({ required: false, description: 'Event types or patterns: "file.ready", "fetch_job.*", "*"', validate: z.array(z.string().max(100)).max(100).nullish() }),
    description: t.string({ required: false, validate: z.string().max(500).nullish() }),
    enabled: t.boolean({ required: false }),
  }),
});

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({ validate: z.string().min(1).max(2048) }),
    eventTypes: t.stringList({ description: 'Event types or patterns: "file.ready", "fetch_job.*", "*"', validate: z.array(z.string().max(100)).min(1).max(100) }),
    description: t.string({ required: false, validate: z.string().max(500).nullish() }),
  }),
});

builder.objectField(AccountRef, 'webhookSecret', (t) =>
  t.string({
    description: 'Signing key of this account\'s webhooks (Standard Webhooks "whsec_…"); created on first read.',
    // Only the caller's own account is reachable, but say so here too: a secret must never leak through another path.
    resolve: (account, _args, ctx) => (account.id === ctx.account.id ? ctx.services.webhooks.secretFor(account.id) : Promise.reject(new Error('not your account'))),
  }),
);

builder.queryFields((t) => ({
  webhookDelivery: t.field({
    type: WebhookDeliveryRef,
    args: { id: t.arg.id() },
    resolve: (_r, a, ctx) => ctx.services.webhooks.require(ctx.account.id, String(a.id)),
  }),
  webhookDeliveries: t.field({
    type: WebhookDeliveryConnection,
    description: "The account's webhook deliveries, newest first. Pass pageInfo.endCursor as `after` for the next page.",
    args: {
      ...pageArgs,
      endpointId: t.arg.id({ required: false, description: 'Only this endpoint\'s' }),
    },
    resolve: async (_r, a, ctx) => {
      return keysetConnection(await ctx.services.webhooks.list(ctx.account.id, { first: a.first ?? 20, after: a.after, endpointId: a.endpointId == null ? null : String(a.endpointId) }), a.after);
    },
  }),
  webhookEndpoints: t.field({
    type: [WebhookEndpointRef],
    description: "The account's webhook endpoints, oldest first",
    resolve: (_r, _a, ctx) => ctx.services.webhooks.endpoints.list(ctx.account.id),
  }),
  webhookEndpoint: t.field({
    type: WebhookEndpointRef,
    args: { id: t.arg.id() },
    resolve: (_r, a, ctx) => ctx.services.webhooks.endpoints.require(ctx.account.id, String(a.id)),
  }),
}));

builder.mutationField('rotateWebhookSecret', (t) =>
  t.string({
    description: 'Replaces the webhook signing secret and returns the new one. Messages sent from now on (retries included) are signed with it only.',
    resolve: (_r, _a, ctx) => ctx.services.webhooks.rotateSecret(ctx.account.id),
  }),
);

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: WebhookEndpointRef,
    description: 'Starts sending this account\'s events of the given types to `url` (events from now on).',
    args: { input: t.arg({ type: CreateWebhookEndpointInput }) },
    resolve: (_r, { input }, ctx) => ctx.services.webhooks.endpoints.create(ctx.account.id, input),
  }),
  updateWebhookEndpoint: t.field({
    type: WebhookEndpointRef,
    description: 'Omitted fields stay; enabled: true turns it back on with a fresh run of failures.',
    args: { id: t.arg.id(), input: t.arg({ type: WebhookEndpointInput }) },
    resolve: (_r, a, ctx) => ctx.services.webhooks.endpoints.update(ctx.account.id, String(a.id), a.input),
  }),
  disableWebhookEndpoint: t.field({
    type: WebhookEndpointRef,
    args: { id: t.arg.id() },
    resolve: (_r, a, ctx) => ctx.services.webhooks.endpoints.update(ctx.account.id, String(a.id), { enabled: false }),
  }),
  deleteWebhookEndpoint: t.field({
    type: 'ID',
    description: 'Deletes the endpoint and its deliveries; returns its id.',
    args: { id: t.arg.id() },
    resolve: async (_r, a, ctx) => (await ctx.services.webhooks.endpoints.delete(ctx.account.id, String(a.id))).id,
  }),
  rotateWebhookEndpointSecret: t.field({
    type: WebhookEndpointRef,
    description: 'A new signing secret; messages also carry a signature with the old one for graceSeconds (default one day) so receivers can switch without a gap.',
    args: { id: t.arg.id(), graceSeconds: t.arg.int({ required: false, defaultValue: 86_400 }) },
    resolve: (_r, a, ctx) => ctx.services.webhooks.endpoints.rotateSecret(ctx.account.id, String(a.id), a.graceSeconds ?? 86_400),
  }),
  redeliverWebhook: t.field({
    type: WebhookDeliveryRef,
    description: 'Sends a finished delivery again, with the same webhook-id (receivers can deduplicate); CONFLICT while it is still being tried.',
    args: { deliveryId: t.arg.id() },
    resolve: (_r, a, ctx) => ctx.services.webhooks.redeliver(ctx.account.id, String(a.deliveryId)),
  }),
}));
