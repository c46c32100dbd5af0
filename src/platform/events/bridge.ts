// Feeds the account event log to this process's subscribers. A notification
// is only a hint ("account A has event N"): for every account someone here
// listens to, the bridge keeps the last number it has read and reads the log
// on from there, so nothing committed is skipped, whatever was missed while
// the LISTEN connection was down (it reads on at every reconnect). Subscribers
// may resume from their own last number, replayed from the log.
import { setMaxListeners } from 'node:events';
import { createPubSub, Repeater } from 'graphql-yoga';
import type postgres from 'postgres';
import type { Logger } from '../logger.js';
import type { PgListener } from './listener.js';
import { EventLog } from './log.js';
import {
  changeEvent,
  decodeLogHint,
  decodeProgress,
  EVENTS_CHANNEL,
  PROGRESS_CHANNEL,
  publishEvent,
  RESYNC,
  type Change,
  type EventInput,
  type Executor,
  type LiveEvent,
} from './publish.js';

/** Every topic of an account. */
export const ALL_TOPICS = '*';

export interface SubscribeOptions {
  /** Only events about this record. */
  id?: string;
  /** Resume: replay logged events after this sequence number first. */
  after?: number;
  signal?: AbortSignal;
  /** Told the log position of each logged event as it is handed on (SSE ids, resume points). */
  onDelivered?: (seq: number) => void;
}

/** What this process has read of one account's log, while anyone here listens to it. */
interface Cursor {
  lastSeq: number;
  ready: Promise<void>;
  reading: Promise<void> | undefined;
  /** A hint arrived while reading: read once more afterwards. */
  again: boolean;
  listeners: number;
}

const REPLAY_BATCH = 500;

/** Thousands of an account's subscribers listen on one key by design; Node's leak warning at 11 would be noise. */
function manyListenerTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

export class EventBridge {
  // Keys are `${accountId}:${topic}`: the account is part of the routing key, so a
  // subscriber can only ever be handed its own account's events.
  private readonly pubsub = createPubSub<Record<string, [LiveEvent]>>({ eventTarget: manyListenerTarget() });
  private readonly cursors = new Map<string, Cursor>();
  private readonly unlisten: (() => Promise<void> | void)[] = [];
  private started = false;
  readonly log: EventLog;

  constructor(
    private readonly listener: PgListener,
    sql: postgres.Sql,
    private readonly logger: Logger,
  ) {
    this.log = new EventLog(sql);
  }

  publish(executor: Executor, event: EventInput): Promise<void> {
    return publishEvent(executor, event);
  }

  /** Announces a change in the caller's transaction (delivered on commit, dropped on rollback). */
  publishChange(executor: Executor, change: Change): Promise<void> {
    return publishEvent(executor, changeEvent(change));
  }

  /** Starts hearing events from every process; only gateways need this. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.unlisten.push(
      await this.listener.subscribe(EVENTS_CHANNEL, (payload) => {
        const hint = decodeLogHint(payload);
        const cursor = hint && this.cursors.get(hint.accountId);
        if (cursor && hint.seq > cursor.lastSeq) this.readOn(hint.accountId, cursor);
      }),
      await this.listener.subscribe(PROGRESS_CHANNEL, (payload) => {
        const event = decodeProgress(payload);
        if (event) this.fanOut(event);
        else this.logger.warn({ payload: payload.slice(0, 200) }, 'ignoring malformed progress notification');
      }),
      // Hints sent while the connection was down are lost; the log is not.
      this.listener.onListening(() => {
        for (const [accountId, cursor] of this.cursors) this.readOn(accountId, cursor);
      }),
    );
  }

  get listening(): boolean {
    return this.started && this.listener.connected;
  }

  private fanOut(event: LiveEvent): void {
    this.pubsub.publish(`${event.accountId}:${event.topic}`, event);
    this.pubsub.publish(`${event.accountId}:${ALL_TOPICS}`, event);
  }

  private readOn(accountId: string, cursor: Cursor): void {
    if (cursor.reading) {
      cursor.again = true;
      return;
    }
    cursor.reading = (async () => {
      await cursor.ready;
      do {
        cursor.again = false;
        for (;;) {
          const events = await this.log.after(accountId, cursor.lastSeq, REPLAY_BATCH);
          for (const event of events) {
            cursor.lastSeq = event.seq!;
            this.fanOut(event);
          }
          if (events.length < REPLAY_BATCH) break;
        }
      } while (cursor.again);
    })()
      .catch((err: unknown) => {
        // The next hint or reconnect reads on from the same place.
        this.logger.warn({ err, accountId }, 'could not read the event log');
      })
      .finally(() => {
        cursor.reading = undefined;
      });
  }

  private attach(accountId: string): Cursor {
    let cursor = this.cursors.get(accountId);
    if (!cursor) {
      const created: Cursor = { lastSeq: 0, ready: Promise.resolve(), reading: undefined, again: false, listeners: 0 };
      // Live from now: start after the account's newest event.
      created.ready = this.log.head(accountId).then(
        (head) => void (created.lastSeq = Math.max(created.lastSeq, head.lastSeq)),
        (err: unknown) => this.logger.warn({ err, accountId }, 'could not read the event log head'),
      );
      this.cursors.set(accountId, (cursor = created));
      // A hint may have come between the head read and this cursor's first use.
      void cursor.ready.then(() => this.readOn(accountId, created));
    }
    cursor.listeners++;
    return cursor;
  }

  private detach(accountId: string, cursor: Cursor): void {
    if (--cursor.listeners === 0 && this.cursors.get(accountId) === cursor) this.cursors.delete(accountId);
  }

  /**
   * The account's events of `topic` (ALL_TOPICS for all), as they commit on any
   * process. With `after`, logged events after that number come first; if the
   * log was pruned past it, a RESYNC event says to refetch instead.
   */
  subscribe(accountId: string, topic: string, options: SubscribeOptions = {}): Repeater<LiveEvent> {
    const wanted = (event: LiveEvent) => (topic === ALL_TOPICS || event.topic === topic) && (options.id === undefined || event.id === options.id);
    return new Repeater<LiveEvent>(async (push, stop) => {
      // Listen before anything is read, so nothing between the two is lost.
      const live = this.pubsub.subscribe(`${accountId}:${topic}`);
      const cursor = this.attach(accountId);
      const onAbort = () => stop();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      void stop.then(() => live.return(undefined));
      try {
        let replayedThrough = -1;
        const deliver = (event: LiveEvent) => {
          if (event.seq !== null) options.onDelivered?.(event.seq);
          return push(event);
        };
        if (options.after !== undefined) replayedThrough = await this.replay(accountId, options.after, wanted, deliver);
        for await (const event of live) {
          if (event.seq !== null && event.seq <= replayedThrough) continue;
          if (wanted(event)) await deliver(event);
        }
      } catch (err) {
        stop(err);
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        this.detach(accountId, cursor);
      }
    });
  }

  private async replay(accountId: string, after: number, wanted: (e: LiveEvent) => boolean, push: (e: LiveEvent) => Promise<unknown>): Promise<number> {
    const head = await this.log.head(accountId);
    if (after < head.prunedThrough) {
      await push({ accountId, topic: ALL_TOPICS, type: RESYNC, id: '', data: { prunedThrough: head.prunedThrough, lastSeq: head.lastSeq }, at: new Date().toISOString(), seq: head.lastSeq });
      return head.lastSeq;
    }
    let through = after;
    for (;;) {
      const events = await this.log.after(accountId, through, REPLAY_BATCH);
      for (const event of events) {
        through = event.seq!;
        if (wanted(event)) await push(event);
      }
      if (events.length < REPLAY_BATCH) return through;
    }
  }

  async stop(): Promise<void> {
    const unlisten = this.unlisten.splice(0);
    this.started = false;
    for (const off of unlisten) await off();
  }
}
