// Two yoga plugins that apply per-key policy to GraphQL operations:
//
// - the fetch rate limit: root fields that make the gateway fetch a URL carry
//   `extensions: fetchesUrls`; one token of the key's fetch bucket per such
//   field in the operation, checked before anything runs (domains only tag);
// - revocation for streams over HTTP (SSE): a subscription's stream ends with a
//   KEY_REVOKED error when its key is revoked. graphql-ws sockets are closed as a
//   whole instead (ws.ts), so their subscriptions are left alone here.
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { Repeater, type Plugin } from 'graphql-yoga';
import type { KeySessions } from '../auth/sessions.js';
import { LimitExceededError } from '../errors.js';
import type { TokenBuckets } from '../limits/token-bucket.js';
import { enforce } from '../limits/rate-limits.js';
import type { GraphQLContext } from './context.js';

const FETCHES_URLS = 'fetchesUrls';

/** Field extensions for a root field that fetches a URL: `t.field({ …, extensions: fetchesUrls })`. */
export const fetchesUrls = { [FETCHES_URLS]: true } as const;

/** How many root fields of the operation fetch URLs (distinct response keys: merged fields resolve once). */
export function countUrlFetches(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): number {
  const operation = getOperationAST(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return 0;
  const fields = root.getFields();
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d] as const] : [])));
  const keys = new Set<string>();
  const seen = new Set<string>();
  const walk = (selections: SelectionSetNode) => {
    for (const selection of selections.selections) {
      if (selection.kind === 'Field') {
        if (fields[selection.name.value]?.extensions?.[FETCHES_URLS]) keys.add(selection.alias?.value ?? selection.name.value);
      } else if (selection.kind === 'InlineFragment') {
        walk(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return keys.size;
}

/** `toError` turns an AppError into the GraphQLError clients see (yoga.ts's toGraphQLError). */
export function useFetchRateLimit(buckets: TokenBuckets, toError: (err: unknown) => GraphQLError | undefined): Plugin<GraphQLContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (!buckets.enabled) return;
      const cost = countUrlFetches(args.schema, args.document, args.operationName);
      if (!cost) return;
      try {
        if (cost > buckets.rate.burst) {
          throw new LimitExceededError(`This operation fetches ${cost} URLs; one operation may fetch at most ${buckets.rate.burst} (RATE_LIMIT_FETCH_BURST)`);
        }
        enforce(buckets.take(args.contextValue.keyId, cost), 'URL fetches for this API key');
      } catch (err) {
        const error = toError(err);
        if (!error) throw err;
        setResultAndStopExecution({ errors: [error] });
      }
    },
  };
}

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
