// Resumable subscriptions over SSE and graphql-ws. Each subscription result
// carries the log position of the event behind it (`extensions.seq`), and
// over SSE that position is also the event's `id:`, so a browser EventSource
// (or any SSE client) that reconnects sends it back as Last-Event-ID and the
// subscription replays what it missed (see streamOptions in events.ts).
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.js';

/** The Last-Event-ID a reconnecting SSE client sent, if it is a log position. */
export function lastEventId(request: { headers: { get(name: string): string | null } } | undefined): number | undefined {
  const value = request?.headers.get('last-event-id')?.trim();
  return value && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

export function useEventIds(): Plugin<GraphQLContext> {
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ args }) {
          const ctx = args.contextValue as GraphQLContext;
          return {
            onNext({ result, setResult }) {
              const seq = ctx.stream?.lastSeq;
              if (seq !== undefined) setResult({ ...result, extensions: { ...result.extensions, seq: String(seq) } });
            },
          };
        },
      };
    },
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      const original = resultProcessor;
      if (!original || !(request.headers.get('accept') ?? '').includes('text/event-stream')) return;
      if (!(result && typeof result === 'object' && Symbol.asyncIterator in result)) return;
      setResultProcessor(async (value, fetchAPI, mediaType) => withEventIds(await original(value, fetchAPI, mediaType), fetchAPI), 'text/event-stream');
    },
  };
}

// yoga writes `event: next` and `data: …` as separate chunks; regroup the
// stream into SSE blocks and put `id: <seq>` in front of those that have one.
function withEventIds(response: Response, fetchAPI: { TextEncoder: typeof TextEncoder; TextDecoder: typeof TextDecoder; Response: typeof Response; TransformStream: typeof TransformStream }): Response {
  if (!response.body) return response;
  const decoder = new fetchAPI.TextDecoder();
  const encoder = new fetchAPI.TextEncoder();
  let pending = '';
  const transform = new fetchAPI.TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      pending += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        const block = pending.slice(0, end + 2);
        pending = pending.slice(end + 2);
        controller.enqueue(encoder.encode(identify(block)));
      }
    },
    flush(controller) {
      if (pending) controller.enqueue(encoder.encode(pending));
    },
  });
  return new fetchAPI.Response(response.body.pipeThrough(transform), { status: response.status, statusText: response.statusText, headers: response.headers });
}

function identify(block: string): string {
  if (!block.startsWith('event: next\n')) return block;
  const data = /^data: (.*)$/m.exec(block)?.[1];
  if (!data) return block;
  try {
    const seq = (JSON.parse(data) as { extensions?: { seq?: unknown } }).extensions?.seq;
    return typeof seq === 'string' && /^\d+$/.test(seq) ? `id: ${seq}\n${block}` : block;
  } catch {
    return block;
  }
}
