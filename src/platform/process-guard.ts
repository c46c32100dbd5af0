// Node ends the process on a promise rejection nobody handled. In a server that
// turns one missed `.catch` on one request's path into an outage for everyone
// (and, in `all` mode, for the workers too). The causes are fixed where they
// are found; this guard makes the next one visible (a log line with the stack
// and a metric to alert on) instead of fatal.
import type { Counter } from 'prom-client';
import type { Logger } from './logger.js';

/** Installs the guard; returns the function that removes it. */
export function guardUnhandledRejections(logger: Logger, counter: Pick<Counter, 'inc'>): () => void {
  const onRejection = (reason: unknown) => {
    counter.inc();
    logger.error({ err: reason }, 'unhandled promise rejection (a bug: nothing awaited this promise); the process keeps running');
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
