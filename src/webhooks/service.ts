// The only writer of the webhook tables. Other domains call enqueue() inside
// the transaction that finishes their job, so a delivery exists exactly when
// that transaction commits; the `webhook` queue then runs deliver().
import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, lt, ne, sql } from 'drizzle-orm';
import type { Config } from '../platform/config.js';
import type { Db, DbOrTx } from '../platform/db/client.js';
import { keysetPage, type KeysetPage } from '../platform/db/paging.js';
import { ConflictError, NotFoundError } from '../platform/errors.js';
import type { EventBridge } from '../platform/events/bridge.js';
import { isUuid } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { JobQueue } from '../platform/queue/queue.js';
import { retryDelayMs } from './backoff.js';
import { WebhookEndpoints } from './endpoints.js';
import { sendAttempt, webhookBody, type AttemptResult } from './send.js';
import { generateSecret } from './signing.js';
import { webhookAttempts, webhookDeliveries, webhookSecrets, type WebhookAttempt, type WebhookDelivery } from './tables.js';

export interface EnqueueInput {
  accountId: string;
  url: string;
  /** e.g. 'fetch_job.completed' */
  eventType: string;
  payload: Record<string, unknown>;
}

/** The `webhook` job payload; `attempt` (1-based) lets a stale duplicate job see it is stale. */
export interface DeliveryJob {
  accountId: string;
  deliveryId: string;
  attempt?: number;
}

export const DELIVERY_SCOPE = 'webhook-delivery';

export interface WebhookDeps {
  database: { db: Db };
  queue: Pick<JobQueue, 'send'>;
  config: Config;
  logger: Logger;
  /** The account event log feeds the endpoints; disabling one is announced there. */
  events: Pick<EventBridge, 'publishChange' | 'log'>;
}

export class WebhookService {
  private readonly db: Db;
  /** The account's own endpoints, fed from its event log. */
  readonly endpoints: WebhookEndpoints;

  constructor(private readonly deps: WebhookDeps) {
    this.db = deps.database.db;
    this.endpoints = new WebhookEndpoints(deps, (tx, d) => deps.queue.send('webhook', { ...d, attempt: 1 }, { tx }));
  }

  /** Records a delivery and enqueues it in the caller's transaction (nothing is sent if it rolls back). */
  async enqueue(tx: DbOrTx, input: EnqueueInput): Promise<{ deliveryId: string; webhookId: string }> {
    const deliveryId = randomUUID();
    const webhookId = `msg_${deliveryId.replace(/-/g, '')}`;
    await tx.insert(webhookDeliveries).values({ id: deliveryId, webhookId, accountId: input.accountId, url: input.url, eventType: input.eventType, payload: input.payload });
    await this.deps.queue.send('webhook', { accountId: input.accountId, deliveryId, attempt: 1 }, { tx });
    return { deliveryId, webhookId };
  }

  /** The account's signing secret; created on first use. */
  async secretFor(accountId: string): Promise<string> {
    const [row] = await this.db.select({ secret: webhookSecrets.secret }).from(webhookSecrets).where(eq(webhookSecrets.accountId, accountId));
    if (row) return row.secret;
    // Two first uses may race: the loser's insert does nothing and both read the winner's secret.
    await this.db.insert(webhookSecrets).values({ accountId, secret: generateSecret() }).onConflictDoNothing();
    const [created] = await this.db.select({ secret: webhookSecrets.secret }).from(webhookSecrets).where(eq(webhookSecrets.accountId, accountId));
    return created!.secret;
  }

  /** Replaces the secret. Deliveries not yet sent (retries included) are signed with the new one. */
  async rotateSecret(accountId: string): Promise<string> {
    const secret = generateSecret();
    await this.db
      .insert(webhookSecrets)
      .values({ accountId, secret, rotatedAt: new Date() })
      .onConflictDoUpdate({ target: webhookSecrets.accountId, set: { secret, rotatedAt: sql`now()` } });
    return secret;
  }

  async get(accountId: string, id: string): Promise<WebhookDelivery | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.accountId, accountId), eq(webhookDeliveries.id, id)));
    return row ?? null;
  }

  async require(accountId: string, id: string): Promise<WebhookDelivery> {
    const row = await this.get(accountId, id);
    if (!row) throw new NotFoundError('Webhook delivery', id);
    return row;
  }

  /** Newest first; `after` is an endCursor from a previous page; optionally one endpoint's. */
  list(accountId: string, q: { first: number; after?: string | null; endpointId?: string | null }): Promise<KeysetPage<WebhookDelivery>> {
    const d = webhookDeliveries;
    const endpoint = q.endpointId == null ? undefined : eq(d.endpointId, isUuid(q.endpointId) ? q.endpointId : '00000000-0000-0000-0000-000000000000');
    return keysetPage<WebhookDelivery>(this.db, { scope: DELIVERY_SCOPE, table: d, createdAt: d.createdAt, id: d.id, where: [eq(d.accountId, accountId), endpoint], first: q.first, after: q.after });
  }

  /** Sends a finished delivery again (same webhook-id, so receivers can deduplicate); CONFLICT while it is still being tried. */
  async redeliver(accountId: string, id: string): Promise<WebhookDelivery> {
    const row = await this.require(accountId, id);
    return this.db.transaction(async (tx) => {
      const [again] = await tx
        .update(webhookDeliveries)
        .set({ status: 'PENDING', attemptBase: sql`${webhookDeliveries.attempts}`, nextRetryAt: null, deliveredAt: null, updatedAt: sql`now()` })
        .where(and(eq(webhookDeliveries.id, row.id), ne(webhookDeliveries.status, 'PENDING')))
        .returning();
      if (!again) throw new ConflictError(`Webhook delivery ${id} is still being tried`);
      await this.deps.queue.send('webhook', { accountId, deliveryId: again.id, attempt: again.attempts + 1 }, { tx });
      return again;
    });
  }

  /** Attempt logs of several deliveries in one query, scoped to the account. */
  async attemptsFor(accountId: string, deliveryIds: readonly string[]): Promise<WebhookAttempt[]> {
    if (deliveryIds.length === 0) return [];
    return this.db
      .select({ deliveryId: webhookAttempts.deliveryId, attempt: webhookAttempts.attempt, statusCode: webhookAttempts.statusCode, error: webhookAttempts.error, durationMs: webhookAttempts.durationMs, at: webhookAttempts.at })
      .from(webhookAttempts)
      .innerJoin(webhookDeliveries, eq(webhookDeliveries.id, webhookAttempts.deliveryId))
      .where(and(eq(webhookDeliveries.accountId, accountId), inArray(webhookAttempts.deliveryId, [...deliveryIds])))
      .orderBy(asc(webhookAttempts.deliveryId), asc(webhookAttempts.attempt));
  }

  /**
   * Makes one attempt (the `webhook` worker). Idempotent: a finished delivery,
   * or a job for an attempt already made, does nothing. Receiver failures are
   * recorded, not thrown; the retry is a new job scheduled by the backoff.
   */
  async deliver(job: DeliveryJob, options: { signal?: AbortSignal } = {}): Promise<void> {
    const row = await this.get(job.accountId, job.deliveryId);
    if (!row || row.status !== 'PENDING') return;
    if (job.attempt !== undefined && job.attempt !== row.attempts + 1) return;
    const { config } = this.deps;
    let secrets: string[];
    if (row.endpointId) {
      const endpoint = await this.endpoints.get(row.accountId, row.endpointId);
      if (!endpoint) return; // deleted with its endpoint
      // In order per object: wait while an earlier event about the same record is still being tried.
      const earlier = await this.earlierPending(row);
      if (earlier) {
        await this.deps.queue.send('webhook', job, { startAfter: new Date(Math.max(Date.now() + 500, (earlier.nextRetryAt?.getTime() ?? 0) + 100)) });
        return;
      }
      secrets = this.endpoints.signingSecrets(endpoint);
    } else {
      secrets = [await this.secretFor(row.accountId)];
    }
    const result = await sendAttempt({
      url: row.url,
      webhookId: row.webhookId,
      secrets,
      body: webhookBody(row.eventType, row.createdAt, row.payload),
      // Every outbound request goes through the safe fetcher under the shared egress policy.
      policy: { allowNetworks: config.fetchAllowNetworks, totalTimeoutMs: config.webhooks.timeoutMs, connectTimeoutMs: config.webhooks.timeoutMs, idleTimeoutMs: config.webhooks.timeoutMs, maxRedirects: 3 },
      signal: options.signal,
    });
    await this.record(row, result);
  }

  private async earlierPending(row: WebhookDelivery): Promise<WebhookDelivery | undefined> {
    const d = webhookDeliveries;
    const [earlier] = await this.db
      .select()
      .from(d)
      .where(and(eq(d.endpointId, row.endpointId!), eq(d.objectId, row.objectId!), eq(d.status, 'PENDING'), lt(d.eventSeq, row.eventSeq!)))
      .orderBy(asc(d.eventSeq))
      .limit(1);
    return earlier;
  }

  private async record(row: WebhookDelivery, result: AttemptResult): Promise<void> {
    const attempt = row.attempts + 1;
    const { config, queue, logger } = this.deps;
    const tries = attempt - row.attemptBase;
    const exhausted = result.outcome === 'RETRY' && tries >= config.webhooks.maxAttempts;
    const status = result.outcome === 'RETRY' ? (exhausted ? 'FAILED' : 'PENDING') : result.outcome;
    const nextRetryAt = status === 'PENDING' ? new Date(Date.now() + retryDelayMs(tries, { baseSeconds: config.webhooks.retryBaseSeconds, maxSeconds: config.webhooks.retryMaxSeconds })) : null;
    const lastError = exhausted ? `${result.error} (gave up after ${tries} attempts)` : result.error;
    await this.db.transaction(async (tx) => {
      // Guarded on the attempt count: if a racing worker recorded this attempt first, ours is dropped.
      const updated = await tx
        .update(webhookDeliveries)
        .set({ status, attempts: attempt, lastStatusCode: result.statusCode, lastError, nextRetryAt, updatedAt: sql`now()`, deliveredAt: status === 'DELIVERED' ? sql`now()` : null })
        .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.status, 'PENDING'), eq(webhookDeliveries.attempts, row.attempts)))
        .returning({ id: webhookDeliveries.id });
      if (updated.length === 0) return;
      await tx.insert(webhookAttempts).values({ deliveryId: row.id, attempt, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs });
      if (nextRetryAt) await queue.send('webhook', { accountId: row.accountId, deliveryId: row.id, attempt: attempt + 1 }, { tx, startAfter: nextRetryAt });
      else if (row.endpointId) await this.endpoints.deliveryFinished(tx, row.endpointId, status === 'DELIVERED');
    });
    logger.info({ deliveryId: row.id, webhookId: row.webhookId, attempt, status, statusCode: result.statusCode, error: result.error }, 'webhook attempt');
  }
}
