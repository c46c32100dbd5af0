// One dedicated LISTEN connection per process, shared by the events bridge and
// the queue wake-ups. postgres.js's own sql.listen re-listens once after a drop
// but silently gives up if that single attempt fails (database restarting), so
// this keeps its own connection and retries with backoff until it is back.
import postgres from 'postgres';
import type { Logger } from '../logger.js';

export type NotificationHandler = (payload: string) => void;

export class PgListener {
  private sql: postgres.Sql | undefined;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly listeningHooks = new Set<() => void>();
  private connecting: Promise<void> | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** Increments each time every channel is (re)listened on a fresh connection. */
  generation = 0;
  connected = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly applicationName = `media-gateway-listener-${process.pid}`,
  ) {}

  /** Resolves once the channel is being listened to. */
  async subscribe(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('PgListener is closed');
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    if (!this.sql) await this.connect();
    else if (fresh && this.connected) await this.sql.unsafe(`listen ${quote(channel)}`);
    else await this.connecting;
    return async () => {
      set.delete(handler);
      if (set.size || this.handlers.get(channel) !== set) return;
      this.handlers.delete(channel);
      if (this.connected) await this.sql?.unsafe(`unlisten ${quote(channel)}`).catch(() => {});
    };
  }

  /** Called after every successful (re)listen: notifications sent while disconnected are gone, so callers resync here. */
  onListening(hook: () => void): () => void {
    this.listeningHooks.add(hook);
    return () => this.listeningHooks.delete(hook);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const sql = postgres(this.url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: this.applicationName },
      onclose: () => this.dropped(sql),
      // Not in postgres.js's typings, but the option sql.listen itself is built on.
      ...({ onnotify: (channel: string, payload: string) => this.deliver(channel, payload) } as object),
    });
    this.sql = sql;
    try {
      for (const channel of this.handlers.keys()) await sql.unsafe(`listen ${quote(channel)}`);
    } catch (err) {
      this.logger.warn({ err, attempt: this.attempt }, 'LISTEN connection failed; retrying');
      this.dropped(sql);
      return;
    }
    if (this.closed || this.sql !== sql) return;
    this.connected = true;
    this.attempt = 0;
    this.generation++;
    for (const hook of this.listeningHooks) hook();
  }

  private dropped(sql: postgres.Sql): void {
    if (this.sql !== sql) return;
    this.connected = false;
    this.sql = undefined;
    void sql.end({ timeout: 0 }).catch(() => {});
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(5000, 50 * 2 ** this.attempt++);
    this.logger.warn({ delayMs: delay }, 'LISTEN connection lost; reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed && !this.sql) void this.connect();
    }, delay);
  }

  private deliver(channel: string, payload: string): void {
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.logger.error({ err, channel }, 'notification handler failed');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const sql = this.sql;
    this.sql = undefined;
    this.connected = false;
    await sql?.end({ timeout: 1 });
  }
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
