// This process as a lease holder: a row in lease_holders with a heartbeat,
// kept by a database session of its own whose application_name names the
// holder. Every process beats, and on the same tick reaps the holders that
// died, so whatever a dead process held (queue jobs, multipart uploads, temp
// files) becomes an orphan that the next handler in the tick cleans up.
//
// A holder is dead when
//   - its session is gone and it missed two beats: the kernel closes a killed
//     process's sockets and PostgreSQL ends its session at once, so a crash
//     is noticed within seconds; the two beats cover a reconnect; or
//   - it has not beaten for staleSeconds: a hung process, or a host cut off
//     whose session PostgreSQL still believes in.
// A process reaps only after beating without a gap for as long as the rule
// it applies, so after a database restart nobody is reaped for not having
// beaten while the database was away.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import postgres from 'postgres';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** The holder's session is named `${SESSION_PREFIX}${holderId}`. */
export const SESSION_PREFIX = 'mg-holder:';

export interface LeaseHolderDeps {
  databaseUrl: string;
  /** The shared pool: reaping is not this holder's own business. */
  sql: postgres.Sql;
  logger: Logger;
  liveness: Config['liveness'];
  /** Recorded for operators: all, serve or work. */
  mode: string;
}

export interface Tick {
  /** Holders this process declared dead on this tick. */
  reaped: number;
}

export type TickHandler = (tick: Tick) => Promise<void>;

export interface ReapedHolder {
  id: string;
  hostname: string;
  pid: number;
  mode: string;
  heartbeat_at: Date;
}

export class LeaseHolder {
  readonly id = randomUUID();
  private session: postgres.Sql | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  /** performance.now() of the first beat after the last failed one; undefined while beats fail. */
  private beatingSince: number | undefined;
  private readonly handlers = new Set<TickHandler>();
  private stopped = false;

  constructor(private readonly deps: LeaseHolderDeps) {}

  get sessionName(): string {
    return SESSION_PREFIX + this.id;
  }

  /** Runs after each beat (and reap) of this process, one tick at a time. */
  onTick(handler: TickHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Registers this process and starts beating. */
  async start(): Promise<void> {
    this.session = postgres(this.deps.databaseUrl, {
      max: 1,
      onnotice: () => {},
      // The session is the liveness signal: never close it for idling or age.
      idle_timeout: 0,
      max_lifetime: 0,
      connection: { application_name: this.sessionName },
    });
    await this.register();
    this.beatingSince = performance.now();
    this.timer = setInterval(() => this.tick(), this.deps.liveness.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  private async register(): Promise<void> {
    await this.session!`insert into lease_holders (id, hostname, pid, mode) values (${this.id}, ${os.hostname()}, ${process.pid}, ${this.deps.mode})`;
  }

  /** One beat, reap and round of handlers; overlapping calls share the running one. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    if (this.stopped || !(await this.beat())) return;
    let reaped = 0;
    try {
      reaped = (await this.reapDead()).length;
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not look for dead processes');
    }
    for (const handler of this.handlers) {
      if (this.stopped) return;
      await handler({ reaped }).catch((err: unknown) => this.deps.logger.error({ err }, 'lease tick handler failed'));
    }
  }

  private async beat(): Promise<boolean> {
    try {
      const rows = await this.session!`update lease_holders set heartbeat_at = now() where id = ${this.id} returning id`;
      if (!rows.length) {
        // Another process declared us dead (we hung, or were cut off) and our
        // leases went with the row; handlers learn that from the missing leases.
        this.deps.logger.warn({ holder: this.id }, 'this process was presumed dead; registering again');
        await this.register();
        this.beatingSince = performance.now();
      }
      this.beatingSince ??= performance.now();
      return true;
    } catch (err) {
      this.beatingSince = undefined;
      this.deps.logger.warn({ err }, 'heartbeat failed');
      return false;
    }
  }

  /** Deletes the holders that died (and, by cascade, their job leases); returns them. */
  async reapDead(): Promise<ReapedHolder[]> {
    const { heartbeatSeconds, staleSeconds } = this.deps.liveness;
    const beatingFor = this.beatingSince === undefined ? 0 : (performance.now() - this.beatingSince) / 1000;
    const sessionGrace = 2 * heartbeatSeconds;
    const bySession = beatingFor >= sessionGrace;
    const byStaleness = beatingFor >= staleSeconds;
    if (!bySession && !byStaleness) return [];
    const reaped = await this.deps.sql<ReapedHolder[]>`
      delete from lease_holders h
      where h.id <> ${this.id} and (
        (${byStaleness}::boolean and h.heartbeat_at < now() - make_interval(secs => ${staleSeconds}))
        or (${bySession}::boolean and h.heartbeat_at < now() - make_interval(secs => ${sessionGrace})
            and not exists (select 1 from pg_stat_activity a where a.application_name = ${SESSION_PREFIX} || h.id::text)))
      returning h.id, h.hostname, h.pid, h.mode, h.heartbeat_at`;
    for (const holder of reaped) this.deps.logger.warn({ holder }, 'a process died; cleaning up after it');
    return reaped;
  }

  /** Ids of the holders alive now (this one included). */
  async liveIds(): Promise<Set<string>> {
    const rows = await this.deps.sql<{ id: string }[]>`select id from lease_holders`;
    return new Set(rows.map((r) => r.id));
  }

  /** Stops beating and deregisters: whatever still names this holder becomes an orphan. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking?.catch(() => {});
    if (!this.session) return;
    await this.session`delete from lease_holders where id = ${this.id}`.catch((err: unknown) => this.deps.logger.warn({ err }, 'could not deregister this process'));
    await this.session.end({ timeout: 5 });
  }
}
