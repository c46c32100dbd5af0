// Account webhook endpoints: created, updated, disabled, deleted and rotated
// here, and fed from the account's event log by dispatch(): every endpoint
// keeps the log position it has dispatched up to and turns each later event
// it subscribes to into a delivery, in one transaction with the new position,
// so every event reaches every endpoint once however many workers race.
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../platform/db/client.js';
import { NotFoundError, ValidationError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import { notify } from '../platform/events/publish.js';
import { validateUrlArgument } from '../platform/net/index.js';
import { generateSecret } from './signing.js';
import { matchesEventType, validateEventTypes, webhookEventType } from './event-types.js';
import { webhookDeliveries, webhookEndpoints, type WebhookEndpoint } from './tables.js';
import type { Db } from '../platform/db/client.js';
import type { EventBridge } from '../platform/events/bridge.js';

export interface EndpointDeps {
  database: { db: Db };
  config: { webhooks: { disableAfterFailures: number } };
  events: Pick<EventBridge, 'publishChange' | 'log'>;
}

/** Workers learn here that an account's endpoints changed (their dispatch caches). */
export const ENDPOINTS_CHANNEL = 'mg_webhook_endpoints';
export const ENDPOINT_TOPIC = 'webhook-endpoint';
const DISPATCH_BATCH = 500;

export interface EndpointInput {
  url?: string | null;
  eventTypes?: string[] | null;
  description?: string | null;
  enabled?: boolean | null;
}

export class WebhookEndpoints {
  constructor(
    private readonly deps: EndpointDeps,
    private readonly enqueueAttempt: (tx: Tx, delivery: { accountId: string; deliveryId: string }) => Promise<unknown>,
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  list(accountId: string): Promise<WebhookEndpoint[]> {
    return this.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.accountId, accountId)).orderBy(webhookEndpoints.createdAt);
  }

  async get(accountId: string, id: string): Promise<WebhookEndpoint | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.accountId, accountId), eq(webhookEndpoints.id, id)));
    return row;
  }

  async require(accountId: string, id: string): Promise<WebhookEndpoint> {
    const row = await this.get(accountId, id);
    if (!row) throw new NotFoundError('Webhook endpoint', id);
    return row;
  }

  async create(accountId: string, input: EndpointInput & { url: string; eventTypes: string[] }): Promise<WebhookEndpoint> {
    validateUrlArgument(input.url, 'url', { maxLength: 2048 });
    const eventTypes = validateEventTypes(input.eventTypes);
    // Only what happens from now on.
    const { lastSeq } = await this.deps.events.log.head(accountId);
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(webhookEndpoints)
        .values({ accountId, url: input.url, eventTypes, description: input.description ?? null, enabled: input.enabled ?? true, secret: generateSecret(), cursorSeq: lastSeq })
        .returning();
      await notify(tx, ENDPOINTS_CHANNEL, accountId);
      return row!;
    });
  }

  async update(accountId: string, id: string, input: EndpointInput): Promise<WebhookEndpoint> {
    const changes: Partial<WebhookEndpoint> = {};
    if (input.url != null) {
      validateUrlArgument(input.url, 'url', { maxLength: 2048 });
      changes.url = input.url;
    }
    if (input.eventTypes != null) changes.eventTypes = validateEventTypes(input.eventTypes);
    if (input.description !== undefined) changes.description = input.description;
    if (input.enabled != null) {
      changes.enabled = input.enabled;
      // Turning an endpoint back on gives it a fresh run of failures.
      if (input.enabled) Object.assign(changes, { disabledReason: null, consecutiveFailures: 0 });
      else changes.disabledReason = 'disabled by the account';
    }
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(webhookEndpoints)
        .set({ ...changes, updatedAt: sql`now()` })
        .where(and(eq(webhookEndpoints.accountId, accountId), eq(webhookEndpoints.id, isUuid(id) ? id : '00000000-0000-0000-0000-000000000000')))
        .returning();
      if (!row) throw new NotFoundError('Webhook endpoint', id);
      await notify(tx, ENDPOINTS_CHANNEL, accountId);
      return row;
    });
  }

  async delete(accountId: string, id: string): Promise<WebhookEndpoint> {
    const existing = await this.require(accountId, id);
    const [row] = await this.db.delete(webhookEndpoints).where(and(eq(webhookEndpoints.accountId, accountId), eq(webhookEndpoints.id, existing.id))).returning();
    if (!row) throw new NotFoundError('Webhook endpoint', id);
    return row;
  }

  /** A new secret; the old one keeps signing alongside it for `graceSeconds`, so receivers can switch without a gap. */
  async rotateSecret(accountId: string, id: string, graceSeconds: number): Promise<WebhookEndpoint> {
    if (!Number.isSafeInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 7 * 24 * 3600) throw new ValidationError('graceSeconds', 'must be between 0 and 604800');
    const existing = await this.require(accountId, id);
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({ secret: generateSecret(), previousSecret: existing.secret, previousSecretExpiresAt: new Date(Date.now() + graceSeconds * 1000), updatedAt: sql`now()` })
      .where(and(eq(webhookEndpoints.accountId, accountId), eq(webhookEndpoints.id, existing.id)))
      .returning();
    return row!;
  }

  /** The secrets a delivery to this endpoint is signed with now (newest first). */
  signingSecrets(endpoint: WebhookEndpoint, now = Date.now()): string[] {
    const previousValid = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt.getTime() > now;
    return previousValid ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
  }

  /** Accounts whose enabled endpoints have events left to dispatch (after a missed hint). */
  async accountsBehind(): Promise<string[]> {
    const rows = await this.db.execute(sql`
      select distinct e.account_id from webhook_endpoints e join event_counters c on c.account_id = e.account_id
      where e.enabled and e.cursor_seq < c.last_seq`);
    return (rows as unknown as { account_id: string }[]).map((r) => r.account_id);
  }

  async accountsWithEndpoints(): Promise<Set<string>> {
    const rows = await this.db.selectDistinct({ accountId: webhookEndpoints.accountId }).from(webhookEndpoints).where(eq(webhookEndpoints.enabled, true));
    return new Set(rows.map((r) => r.accountId));
  }

  /**
   * Turns the account's new events into deliveries for its enabled endpoints.
   * Endpoints another worker is dispatching are skipped (it has them). Returns
   * how many events were looked at, so the caller goes on while there are more.
   */
  async dispatch(accountId: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const endpoints = await tx
        .select()
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.accountId, accountId), eq(webhookEndpoints.enabled, true)))
        .for('update', { skipLocked: true });
      if (!endpoints.length) return 0;
      const from = Math.min(...endpoints.map((e) => e.cursorSeq));
      const events = await this.deps.events.log.after(accountId, from, DISPATCH_BATCH);
      if (!events.length) return 0;
      for (const endpoint of endpoints) {
        for (const event of events) {
          if (event.seq! <= endpoint.cursorSeq) continue;
          const eventType = webhookEventType(event);
          if (!matchesEventType(endpoint.eventTypes, eventType)) continue;
          const [delivery] = await tx
            .insert(webhookDeliveries)
            .values({
              id: sql`gen_random_uuid()`,
              webhookId: sql`'msg_' || replace(gen_random_uuid()::text, '-', '')`,
              accountId,
              url: endpoint.url,
              eventType,
              payload: { seq: String(event.seq), topic: event.topic, id: event.id, type: event.type, ...event.data },
              endpointId: endpoint.id,
              eventSeq: event.seq!,
              objectId: `${event.topic}:${event.id}`,
              createdAt: new Date(event.at),
            } as never)
            .onConflictDoNothing({ target: [webhookDeliveries.endpointId, webhookDeliveries.eventSeq] })
            .returning({ id: webhookDeliveries.id });
          if (delivery) await this.enqueueAttempt(tx, { accountId, deliveryId: delivery.id });
        }
        await tx.update(webhookEndpoints).set({ cursorSeq: events.at(-1)!.seq! }).where(eq(webhookEndpoints.id, endpoint.id));
      }
      return events.length;
    });
  }

  /** A delivery to this endpoint ended: count a failure (disabling after a run of them) or reset the run. */
  async deliveryFinished(tx: Tx, endpointId: string, delivered: boolean): Promise<void> {
    if (delivered) {
      await tx.update(webhookEndpoints).set({ consecutiveFailures: 0 }).where(eq(webhookEndpoints.id, endpointId));
      return;
    }
    const limit = this.deps.config.webhooks.disableAfterFailures;
    const [row] = await tx
      .update(webhookEndpoints)
      .set({
        consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1`,
        enabled: sql`${webhookEndpoints.enabled} and ${webhookEndpoints.consecutiveFailures} + 1 < ${limit}`,
        disabledReason: sql`case when ${webhookEndpoints.enabled} and ${webhookEndpoints.consecutiveFailures} + 1 >= ${limit} then ${`disabled after ${limit} failed deliveries in a row`} else ${webhookEndpoints.disabledReason} end`,
        updatedAt: sql`now()`,
      })
      .where(eq(webhookEndpoints.id, endpointId))
      .returning();
    if (row && !row.enabled && row.consecutiveFailures === limit) {
      await this.deps.events.publishChange(tx, { accountId: row.accountId, topic: ENDPOINT_TOPIC, id: row.id, type: 'STATE', status: 'DISABLED', data: { url: row.url, reason: row.disabledReason } });
      await notify(tx, ENDPOINTS_CHANNEL, row.accountId);
    }
  }
}
