// Yoga plugins that apply per-key policy to GraphQL operations:
//
// - revocation for streams over HTTP (SSE): a subscription's stream ends with a
//   KEY_REVOKED error when its key is revoked. graphql-ws sockets are closed as a
//   whole instead (ws.ts), so their subscriptions are left alone here.
import { GraphQLError, type ExecutionResult } from 'graphql';
import { Repeater, type Plugin } from 'graphql-yoga';
import type { KeySessions } from '../auth/sessions.js';
import type { GraphQLContext } from './context.js';

export function useStreamRevocation(sessions: KeySessions): Plugin<GraphQLContext> {
  return {
    onSubscribe({ args }) {
      if ((args.contextValue as { socket?: unknown }).socket) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(endOnRevocation(result, (end) => sessions.hold(args.contextValue.keyId, 'stream', end)));
        },
      };
    },
  };
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof (value as AsyncIterable<T>)?.[Symbol.asyncIterator] === 'function';
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** Passes the source through until `hold`'s end callback fires: then one KEY_REVOKED error, and the end. */
function endOnRevocation(source: AsyncIterable<ExecutionResult>, hold: (end: (reason: string) => void) => () => void): AsyncIterableIterator<ExecutionResult> {
  return new Repeater<ExecutionResult>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const release = hold((reason) => {
      void push({ errors: [new GraphQLError(reason, { extensions: { code: 'KEY_REVOKED' } })] });
      stop();
    });
    const stopped = stop.then(() => {
      release();
      return DONE;
    });
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done) break;
        await push(next.value);
      }
      stop();
    } catch (err) {
      stop(err);
    } finally {
      await iterator.return?.();
    }
  });
}
