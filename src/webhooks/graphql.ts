// Webhook secret, its rotation, and the delivery log. Resolvers stay thin: WebhookService does the work.
import { z } from 'zod';
import { builder } from '../platform/graphql/builder.js';
import { connectionType, keysetConnection, pageArgs } from '../platform/graphql/paging.js';
import { AccountRef } from '../platform/graphql/viewer.js';
import { DELIVERY_STATUSES, type WebhookAttempt, type WebhookDelivery } from './tables.js';

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
  }),
});

const WebhookDeliveryConnection = connectionType(WebhookDeliveryRef, 'WebhookDeliveryConnection');

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
    },
    resolve: async (_r, a, ctx) => {
      return keysetConnection(await ctx.services.webhooks.list(ctx.account.id, { first: a.first ?? 20, after: a.after }), a.after);
    },
  }),
}));

builder.mutationField('rotateWebhookSecret', (t) =>
  t.string({
    description: 'Replaces the webhook signing secret and returns the new one. Messages sent from now on (retries included) are signed with it only.',
    resolve: (_r, _a, ctx) => ctx.services.webhooks.rotateSecret(ctx.account.id),
  }),
);
