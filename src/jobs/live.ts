// One live record, for per-id subscriptions: subscribe first, read, push the
// current state, then push each later state (and progress step) in order,
// completing at an end state. Events are hints: the row is reloaded, scoped to
// the subscriber's account, for each one.
import { Repeater } from 'graphql-yoga';
import type { EventBridge } from '../platform/events/bridge.js';
import type { LiveEvent } from '../platform/events/publish.js';

export interface LiveRow {
  status: string;
  stage?: string | null;
  bytesReceived?: number;
}

export interface LiveRecordOptions<Row extends LiveRow> {
  events: Pick<EventBridge, 'subscribe'>;
  accountId: string;
  topic: string;
  id: string;
  /** Resume: replay logged events after this sequence number (see EventBridge.subscribe). */
  after?: number;
  /** Told each logged event's position as it is handed on. */
  onDelivered?: (seq: number) => void;
  load(): Promise<Row | undefined | null>;
  /** Thrown when the record does not exist (for this account). */
  notFound(): Error;
  /** Order of statuses; equal ranks are the same phase. */
  rank: Readonly<Record<string, number>>;
  /** Statuses after which nothing changes. */
  final: readonly string[];
  /**
   * The row as the event saw it: a fast worker may be further along by the time
   * the row is reloaded, and each pushed state should be the one announced.
   */
  asOf?(row: Row, event: LiveEvent): Row;
}

const number = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);

function defaultAsOf<Row extends LiveRow>(row: Row, event: LiveEvent): Row {
  const status = event.data.status as string;
  if (row.status !== status) return { ...row, status, stage: (event.data.stage as string | undefined) ?? row.stage, bytesReceived: number(event.data.bytesReceived, 0) };
  return event.type === 'PROGRESS' ? { ...row, bytesReceived: number(event.data.bytesReceived, row.bytesReceived ?? 0) } : row;
}

export function liveRecord<Row extends LiveRow>(options: LiveRecordOptions<Row>): Repeater<Row> {
  const { rank, final } = options;
  const asOf = options.asOf ?? defaultAsOf;
  return new Repeater<Row>(async (push, stop) => {
    // Subscribe before reading, so no change between the read and the first event is lost.
    const source = options.events.subscribe(options.accountId, options.topic, { id: options.id, after: options.after, onDelivered: options.onDelivered });
    void stop.then(() => source.return(undefined));
    try {
      const current = await options.load();
      if (!current) throw options.notFound();
      let seen = { rank: rank[current.status] ?? 0, status: current.status, stage: current.stage ?? null, bytes: current.bytesReceived ?? 0 };
      await push(current);
      if (final.includes(current.status)) return stop();
      for await (const event of source) {
        if (event.type === 'DELETED') return stop();
        const status = event.data.status;
        if (typeof status !== 'string' || !(status in rank)) continue;
        const eventRank = rank[status]!;
        if (eventRank < seen.rank) continue;
        const bytes = number(event.data.bytesReceived, 0);
        const stage = (event.data.stage as string | undefined) ?? null;
        if (eventRank === seen.rank && status === seen.status) {
          // Same phase: only more bytes or a new stage is news.
          if (event.type === 'PROGRESS' ? bytes <= seen.bytes : stage === seen.stage) continue;
        } else if (eventRank === seen.rank) continue;
        const row = await options.load();
        if (!row) return stop();
        seen = { rank: eventRank, status, stage, bytes };
        await push(asOf(row, event));
        if (final.includes(status)) return stop();
      }
    } catch (err) {
      stop(err);
    }
  });
}
