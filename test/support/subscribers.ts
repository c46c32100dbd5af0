// Real subscription clients (graphql-ws and graphql-sse) that collect what they receive.
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Received {
  seq?: string | null;
  topic: string;
  type: string;
  id: string;
  at: string;
  data: Record<string, unknown>;
}

export interface Subscriber {
  events: Received[];
  errors: unknown[];
  /** Resolves when the server ends the stream (complete or error), with the time it did. */
  ended: Promise<number>;
  /** Resolves with the first event (past or future) matching. */
  waitFor(match: (e: Received) => boolean, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

export const ACCOUNT_EVENTS = 'subscription { accountEvents { seq topic type id at data } }';

function collector(label: string) {
  const events: Received[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<{ match: (e: Received) => boolean; resolve: (e: Received) => void }>();
  let end!: () => void;
  const ended = new Promise<number>((resolve) => (end = () => resolve(performance.timeOrigin + performance.now())));
  return {
    events,
    errors,
    ended,
    end,
    push(event: Received) {
      events.push(event);
      for (const w of waiters) if (w.match(event)) w.resolve(event);
    },
    waitFor(match: (e: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
      const past = events.find(match);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (e: Received) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${label}: no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}; errors ${JSON.stringify(errors)}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

export function subscribeWs(baseUrl: string, key: string, query = ACCOUNT_EVENTS): Subscriber {
  const c = collector('graphql-ws');
  const client = createWsClient({ url: `${baseUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': key }, retryAttempts: 0 });
  const stop = client.subscribe<{ accountEvents: Received }>(
    { query },
    { next: (r) => (r.data ? c.push(r.data.accountEvents) : c.errors.push(r.errors)), error: (e) => (c.errors.push(e), c.end()), complete: c.end },
  );
  return { events: c.events, errors: c.errors, ended: c.ended, waitFor: c.waitFor, close: async () => (stop(), await client.dispose()) };
}

export function subscribeSse(baseUrl: string, key: string, query = ACCOUNT_EVENTS): Subscriber {
  const c = collector('graphql-sse');
  const client = createSseClient({ url: `${baseUrl}/graphql`, headers: { 'x-api-key': key }, retryAttempts: 0 });
  const stop = client.subscribe<{ accountEvents: Received }>(
    { query },
    { next: (r) => (r.data ? c.push(r.data.accountEvents) : c.errors.push(r.errors)), error: (e) => (c.errors.push(e), c.end()), complete: c.end },
  );
  return { events: c.events, errors: c.errors, ended: c.ended, waitFor: c.waitFor, close: async () => (stop(), client.dispose()) };
}

/** Any subscription over graphql-ws: collects each result's first field; `done` settles on complete or error. */
export function subscribeAny<T = any>(baseUrl: string, key: string, query: string, variables?: Record<string, unknown>) {
  const seen: T[] = [];
  const errors: unknown[] = [];
  const client = createWsClient({ url: `${baseUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': key }, retryAttempts: 0 });
  let completed = false;
  const done = new Promise<void>((resolve) => {
    client.subscribe<Record<string, T>>(
      { query, variables },
      {
        next: (r) => (r.data ? seen.push(Object.values(r.data)[0]!) : errors.push(r.errors)),
        error: (e) => (errors.push(e), resolve()),
        complete: () => ((completed = true), resolve()),
      },
    );
  });
  return { seen, errors, done, get completed() { return completed; }, close: () => client.dispose() };
}
