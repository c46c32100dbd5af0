// Reads and prunes the account event log (tables.ts). Plain postgres.js
// statements: these run once per event per gateway, so they stay cheap.
import type postgres from 'postgres';
import type { LiveEvent } from './publish.js';

interface Row {
  topic: string;
  object_id: string;
  type: string;
  data: Record<string, unknown>;
  at_ms: number;
  seq: string | number | bigint;
}

export interface LogHead {
  /** The account's newest sequence number (0 before its first event). */
  lastSeq: number;
  /** Events up to this number are gone; resuming before it needs a resync. */
  prunedThrough: number;
}

export class EventLog {
  constructor(private readonly sql: postgres.Sql) {}

  /** Up to `limit` events of the account after `seq`, oldest first. */
  async after(accountId: string, seq: number, limit = 500): Promise<LiveEvent[]> {
    const rows = await this.sql<Row[]>`
      select topic, object_id, type, data, (extract(epoch from at) * 1000)::float8 as at_ms, seq from events
      where account_id = ${accountId} and seq > ${seq}
      order by seq limit ${limit}`;
    return rows.map((r) => ({ accountId, topic: r.topic, id: r.object_id, type: r.type, data: r.data, at: new Date(r.at_ms).toISOString(), seq: Number(r.seq) }));
  }

  async head(accountId: string): Promise<LogHead> {
    const [row] = await this.sql<{ last_seq: string | number; pruned_through: string | number }[]>`
      select last_seq, pruned_through from event_counters where account_id = ${accountId}`;
    return { lastSeq: Number(row?.last_seq ?? 0), prunedThrough: Number(row?.pruned_through ?? 0) };
  }

  /** Deletes events older than `before` (in batches), remembering per account how far the log was cut. */
  async prune(before: Date, batch = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const [{ n }] = await this.sql<{ n: number }[]>`
        with gone as (
          delete from events where ctid in (select ctid from events where at < ${before.toISOString()}::timestamptz limit ${batch})
          returning account_id, seq
        ), cut as (
          select account_id, max(seq) as seq from gone group by account_id
        ), marked as (
          update event_counters c set pruned_through = greatest(c.pruned_through, cut.seq)
          from cut where c.account_id = cut.account_id returning 1
        )
        select (select count(*) from gone)::int as n, (select count(*) from marked) as m`;
      total += n;
      if (n < batch) return total;
    }
  }
}
