// Feeds every notification this process hears into graphql-yoga's in-process
// pubsub, keyed by account, so each gateway fans out to its own subscribers.
import { createPubSub, filter, pipe, type Repeater } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { PgListener } from './listener.js';
import { changeEvent, decodeEvent, EVENTS_CHANNEL, publishEvent, type Change, type EventInput, type Executor, type LiveEvent } from './publish.js';

/** Every topic of an account. */
export const ALL_TOPICS = '*';

export interface SubscribeOptions {
  /** Only events about this record. */
  id?: string;
  signal?: AbortSignal;
}

export class EventBridge {
  // Keys are `${accountId}:${topic}`: the account is part of the routing key, so a
  // subscriber can only ever be handed its own account's events.
  private readonly pubsub = createPubSub<Record<string, [LiveEvent]>>();
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly listener: PgListener,
    private readonly logger: Logger,
  ) {}

  publish(executor: Executor, event: EventInput): Promise<void> {
    return publishEvent(executor, event);
  }

  /** Announces a change in the caller's transaction (delivered on commit, dropped on rollback). */
  publishChange(executor: Executor, change: Change): Promise<void> {
    return publishEvent(executor, changeEvent(change));
  }

  /** Starts hearing events from every process; only gateways need this. */
  async start(): Promise<void> {
    this.unlisten ??= await this.listener.subscribe(EVENTS_CHANNEL, (payload) => {
      const event = decodeEvent(payload);
      if (!event) {
        this.logger.warn({ payload: payload.slice(0, 200) }, 'ignoring malformed event notification');
        return;
      }
      this.pubsub.publish(`${event.accountId}:${event.topic}`, event);
      this.pubsub.publish(`${event.accountId}:${ALL_TOPICS}`, event);
    });
  }

  get listening(): boolean {
    return !!this.unlisten && this.listener.connected;
  }

  subscribe(accountId: string, topic: string, options: SubscribeOptions = {}): Repeater<LiveEvent> {
    const source = this.pubsub.subscribe(`${accountId}:${topic}`);
    if (options.signal) options.signal.addEventListener('abort', () => void source.return(), { once: true });
    if (options.id === undefined) return source;
    const id = options.id;
    return pipe(source, filter((event: LiveEvent) => event.id === id)) as Repeater<LiveEvent>;
  }

  async stop(): Promise<void> {
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.();
  }
}
