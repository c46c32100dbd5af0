// The only writer of the webhook tables. Other domains call enqueue() inside
// the transaction that finishes their job, so a delivery exists exactly when
// that transaction commits; the `webhook` queue then runs deliver().
import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Config } from '../platform/config.js';
import type { Db, DbOrTx } from '../platform/db/client.js';
import { keysetPage, type KeysetPage } from '../platform/db/paging.js';
import { NotFoundError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { JobQueue } from '../platform/queue/queue.js';
import { retryDelayMs } from './backoff.js';
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
}

export class WebhookService {
  private readonly db: Db;

  constructor(private readonly deps: WebhookDeps) {
    this.db = deps.database.db;
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

  /** Newest first; `after` is an endCursor from a previous page. */
  list(accountId: string, q: { first: number; after?: string | null }): Promise<KeysetPage<WebhookDelivery>> {
    const d = webhookDeliveries;
    return keysetPage<WebhookDelivery>(this.db, { scope: DELIVERY_SCOPE, table: d, createdAt: d.createdAt, id: d.id, where: [eq(d.accountId, accountId)], first: q.first, after: q.after });
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
    const result = await sendAttempt({
      url: row.url,
      webhookId: row.webhookId,
      secret: await this.secretFor(row.accountId),
      body: webhookBody(row.eventType, row.createdAt, row.payload),
      // Every outbound request goes through the safe fetcher under the shared egress policy.
      policy: { allowNetworks: config.fetchAllowNetworks, totalTimeoutMs: config.webhooks.timeoutMs, connectTimeoutMs: config.webhooks.timeoutMs, idleTimeoutMs: config.webhooks.timeoutMs, maxRedirects: 3 },
      signal: options.signal,
    });
    await this.record(row, result);
  }

  private async record(row: WebhookDelivery, result: AttemptResult): Promise<void> {
    const attempt = row.attempts + 1;
    const { config, queue, logger } = this.deps;
    const exhausted = result.outcome === 'RETRY' && attempt >= config.webhooks.maxAttempts;
    const status = result.outcome === 'RETRY' ? (exhausted ? 'FAILED' : 'PENDING') : result.outcome;
    const nextRetryAt = status === 'PENDING' ? new Date(Date.now() + retryDelayMs(attempt, { baseSeconds: config.webhooks.retryBaseSeconds, maxSeconds: config.webhooks.retryMaxSeconds })) : null;
    const lastError = exhausted ? `${result.error} (gave up after ${attempt} attempts)` : result.error;
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
    });
    logger.info({ deliveryId: row.id, webhookId: row.webhookId, attempt, status, statusCode: result.statusCode, error: result.error }, 'webhook attempt');
  }
}
