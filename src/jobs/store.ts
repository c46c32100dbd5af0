// Reads and moves the rows of one job-shaped table. Every state change is one
// guarded `UPDATE … WHERE status IN (expected) RETURNING`, announced (and its
// follow-ups enqueued) in the caller's transaction: two racing callers cannot
// both win, and nothing is announced that did not commit.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db, Tx } from '../platform/db/client.js';
import { NotFoundError } from '../platform/errors.js';
import type { EventBridge } from '../platform/events/bridge.js';
import type { ChangeType } from '../platform/events/publish.js';
import { isUuid } from '../platform/ids.js';
import type { JobRow } from './columns.js';

type JobColumnName = 'id' | 'accountId' | 'status' | 'stage' | 'bytesReceived' | 'bytesTotal' | 'updatedAt' | 'heartbeatAt' | 'createdAt';
export type JobTable = PgTable & { [K in JobColumnName]: PgColumn } & { $inferSelect: JobRow };

export interface JobStoreDeps {
  database: { db: Db };
  events: Pick<EventBridge, 'publishChange'>;
}

export interface JobStoreOptions<Row> {
  /** Event topic, e.g. "fetch-job". */
  topic: string;
  /** For messages: "Fetch job". */
  what: string;
  /** The status a worker holds while it works; progress writes only land in it. */
  runningStatus: string;
  /** Small fields every event of this kind carries besides status, stage and bytes. */
  eventData?: (row: Row) => Record<string, unknown>;
}

export interface TransitionRequest<Row> {
  accountId: string;
  id: string;
  /** Only a row in one of these statuses moves. */
  from: readonly string[];
  set: Partial<Row>;
  /** Runs with the row locked, before it is written; may add fields (e.g. what the job produced). */
  prepare?: (tx: Tx, locked: Row) => Promise<Partial<Row> | void>;
  /** Runs for the winner only, in the same transaction: webhooks, follow-up jobs. */
  after?: (tx: Tx, row: Row) => Promise<void>;
  /** STATE unless said otherwise. */
  type?: ChangeType;
}

export class JobStore<T extends JobTable, Row extends JobRow = T['$inferSelect']> {
  constructor(
    private readonly deps: JobStoreDeps,
    readonly table: T,
    private readonly options: JobStoreOptions<Row>,
  ) {}

  get topic(): string {
    return this.options.topic;
  }

  private get db(): Db {
    return this.deps.database.db;
  }

  // drizzle cannot type a column picked from a generic table; the JobTable constraint guarantees them.
  private get t(): Record<JobColumnName, PgColumn> {
    return this.table as unknown as Record<JobColumnName, PgColumn>;
  }

  /** Malformed ids answer like missing ones rather than as a database error. */
  async get(accountId: string, id: string, executor: Db | Tx = this.db): Promise<Row | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await executor.select().from(this.table as PgTable).where(and(eq(this.t.accountId, accountId), eq(this.t.id, id)));
    return rows[0] as Row | undefined;
  }

  /** NOT_FOUND echoing the id the caller sent, for unknown ids and other accounts' alike. */
  async require(accountId: string, id: string | null, sentId: string = id ?? ''): Promise<Row> {
    const row = id ? await this.get(accountId, id) : undefined;
    if (!row) throw new NotFoundError(this.options.what, sentId);
    return row;
  }

  async getMany(accountId: string, ids: readonly (string | null)[]): Promise<(Row | null)[]> {
    const valid = ids.filter((id): id is string => !!id && isUuid(id));
    if (!valid.length) return ids.map(() => null);
    const rows = (await this.db.select().from(this.table as PgTable).where(and(eq(this.t.accountId, accountId), inArray(this.t.id, valid)))) as Row[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => (id && byId.get(id)) || null);
  }

  /** Announces a change of `row` in the caller's transaction. */
  announce(tx: Db | Tx, row: Row, type: ChangeType = 'STATE', extra?: Record<string, unknown>): Promise<void> {
    return this.deps.events.publishChange(tx, {
      accountId: row.accountId,
      topic: this.options.topic,
      id: row.id,
      type,
      status: row.status,
      stage: row.stage,
      bytesReceived: row.bytesReceived,
      bytesTotal: row.bytesTotal,
      data: { ...this.options.eventData?.(row), ...extra },
    });
  }

  /** The guarded transition, in the caller's transaction. Undefined when the row was not in `from`. */
  async transition(tx: Tx, request: TransitionRequest<Row>): Promise<Row | undefined> {
    const guard = and(eq(this.t.id, request.id), eq(this.t.accountId, request.accountId), inArray(this.t.status, [...request.from]));
    let set: Partial<Row> = request.set;
    if (request.prepare) {
      const [locked] = (await tx.select().from(this.table as PgTable).where(guard).for('update')) as Row[];
      if (!locked) return undefined;
      set = { ...set, ...(await request.prepare(tx, locked)) };
    }
    const [row] = (await tx
      .update(this.table)
      .set({ ...set, updatedAt: sql`now()` } as never)
      .where(guard)
      .returning()) as Row[];
    if (!row) return undefined;
    await this.announce(tx, row, request.type ?? 'STATE');
    await request.after?.(tx, row);
    return row;
  }

  /** A transition in a transaction of its own. */
  move(request: TransitionRequest<Row>): Promise<Row | undefined> {
    return this.db.transaction((tx) => this.transition(tx, request));
  }

  /**
   * Records bytes (and the heartbeat) while the job runs, announcing PROGRESS
   * when asked. False when the row is no longer running: that is how a worker
   * learns it was cancelled.
   */
  async progress(row: Pick<Row, 'id' | 'accountId'>, bytes: { received: number; total: number | null }, announce: boolean): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [updated] = (await tx
        .update(this.table)
        .set({ bytesReceived: bytes.received, bytesTotal: bytes.total, heartbeatAt: sql`now()` } as never)
        .where(and(eq(this.t.id, row.id), eq(this.t.accountId, row.accountId), eq(this.t.status, this.options.runningStatus)))
        .returning()) as Row[];
      if (updated && announce) await this.announce(tx, updated, 'PROGRESS');
      return !!updated;
    });
  }

  /** Moves a running job to another stage (announced as a STATE change: stages are states clients show). */
  async stage(row: Pick<Row, 'id' | 'accountId'>, stage: Row['stage']): Promise<boolean> {
    const moved = await this.move({ accountId: row.accountId, id: row.id, from: [this.options.runningStatus], set: { stage } as Partial<Row> });
    return !!moved;
  }
}
