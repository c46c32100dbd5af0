// Runs in every worker process: hears the account event log's hints and turns
// new events into endpoint deliveries (WebhookEndpoints.dispatch). Any number
// of workers may do this at once: dispatch skips endpoints another holds, and
// an event reaches an endpoint once. Hints missed while the LISTEN connection
// was down are made up at reconnect and by a slow sweep.
import type { PgListener } from '../platform/events/listener.js';
import { decodeLogHint, EVENTS_CHANNEL } from '../platform/events/publish.js';
import type { Logger } from '../platform/logger.js';
import { ENDPOINTS_CHANNEL, type WebhookEndpoints } from './endpoints.js';

const SWEEP_MS = 30_000;

export interface Dispatcher {
  stop(): Promise<void>;
}

export async function startDispatcher(endpoints: WebhookEndpoints, deps: { listener: PgListener; logger: Logger }): Promise<Dispatcher> {
  let withEndpoints = new Set<string>();
  const running = new Map<string, { again: boolean; done: Promise<void> }>();
  let stopped = false;

  const refresh = async () => {
    withEndpoints = await endpoints.accountsWithEndpoints();
  };

  const dispatch = (accountId: string) => {
    const current = running.get(accountId);
    if (current) {
      current.again = true;
      return;
    }
    const entry = { again: false, done: Promise.resolve() };
    running.set(accountId, entry);
    entry.done = (async () => {
      do {
        entry.again = false;
        while (!stopped && (await endpoints.dispatch(accountId)) > 0) {
          // more events may be waiting: go on until a batch comes back empty
        }
      } while (entry.again && !stopped);
    })()
      .catch((err: unknown) => deps.logger.warn({ err, accountId }, 'webhook dispatch failed; the next event or sweep retries'))
      .finally(() => running.delete(accountId));
  };

  const catchUp = async () => {
    await refresh();
    for (const accountId of await endpoints.accountsBehind()) dispatch(accountId);
  };

  const unlisteners = [
    await deps.listener.subscribe(EVENTS_CHANNEL, (payload) => {
      const hint = decodeLogHint(payload);
      if (hint && withEndpoints.has(hint.accountId)) dispatch(hint.accountId);
    }),
    await deps.listener.subscribe(ENDPOINTS_CHANNEL, (accountId) => {
      void refresh().then(() => dispatch(accountId)).catch(() => {});
    }),
  ];
  const offListening = deps.listener.onListening(() => void catchUp().catch(() => {}));
  const sweep = setInterval(() => void catchUp().catch((err: unknown) => deps.logger.warn({ err }, 'webhook dispatch sweep failed')), SWEEP_MS);
  sweep.unref();
  await catchUp();

  return {
    async stop() {
      stopped = true;
      clearInterval(sweep);
      offListening();
      for (const off of unlisteners) await off();
      await Promise.allSettled([...running.values()].map((r) => r.done));
    },
  };
}
