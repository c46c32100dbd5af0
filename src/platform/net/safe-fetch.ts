// The one way this project talks to the outside world. Each hop: checkUrl
// (resolve once, judge every address) -> pinned agent (connects only to those
// addresses) -> one request with redirects off -> either follow Location by
// going round again, or hand back a streamed, byte-capped body.
import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import { limitBody, readAll, type LimitedBody } from './body-limit.js';
import { createPinnedAgent } from './connector.js';
import {
  FetchAbortedError,
  FetchTimeoutError,
  HttpStatusError,
  ResponseTooLargeError,
  UrlNotAllowedError,
  toFetchError,
} from './errors.js';
import { checkUrl, policyDefaults, type EgressPolicy } from './policy.js';
import { isRedirect, nextHop, type HopRequest, type RequestBody } from './redirects.js';
import { parseContentLengthOrRange } from './sniff.js';

export interface SafeFetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
  policy: EgressPolicy;
}

export interface SafeResponse {
  status: number;
  ok: boolean;
  headers: Headers;
  /** Final URL after redirects. */
  url: string;
  /** Every URL a redirect sent us to, in order (the last one equals `url`). */
  redirects: string[];
  /** Streamed body; errors with FetchTimeoutError / ResponseTooLargeError / FetchNetworkError / FetchAbortedError. */
  body: Readable;
  /** Whole body as text; refuses more than limitBytes (default min(maxBytes, 16 MiB)). */
  text(limitBytes?: number): Promise<string>;
  /** Whole body as a Buffer, same limit rules as text(). */
  buffer(limitBytes?: number): Promise<Buffer>;
  /** Throws HttpStatusError unless 2xx (disposing the body first). */
  assertOk(): void;
  /** Abort the transfer and free the socket. Safe to call more than once. */
  dispose(): void;
}

const DEFAULT_IN_MEMORY_LIMIT = 16 * 1024 * 1024;

// Hop-by-hop or framing headers the client computes itself; a caller-supplied
// Host could also make a pinned connection claim to be another virtual host.
const forbiddenRequestHeaders = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

function cleanHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (!forbiddenRequestHeaders.has(k.toLowerCase())) out[k] = v;
  return out;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      try {
        h.append(k, one);
      } catch {
        // A header value undici accepted but WHATWG Headers rejects: skip it rather than fail the fetch.
      }
    }
  }
  return h;
}

function charsetOf(contentType: string | null): string {
  const m = contentType ? /;\s*charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType) : null;
  if (m) {
    try {
      new TextDecoder(m[1]);
      return m[1];
    } catch {
      // Unknown label: fall back to UTF-8.
    }
  }
  return 'utf-8';
}

export async function safeFetch(input: string, options: SafeFetchOptions): Promise<SafeResponse> {
  const { policy } = options;
  const maxRedirects = policy.maxRedirects ?? policyDefaults.maxRedirects;
  const connectTimeoutMs = policy.connectTimeoutMs ?? policyDefaults.connectTimeoutMs;
  const idleTimeoutMs = policy.idleTimeoutMs ?? policyDefaults.idleTimeoutMs;
  const totalTimeoutMs = policy.totalTimeoutMs ?? policyDefaults.totalTimeoutMs;

  // One controller aborts everything in flight: DNS wait, connect, headers and
  // the body stream. It fires on the total deadline or the caller's signal.
  const controller = new AbortController();
  const state = { totalTimedOut: false, callerAborted: false };
  const errorContext = () => ({ ...state, totalTimeoutMs, idleTimeoutMs, connectTimeoutMs });
  const timer = setTimeout(() => {
    state.totalTimedOut = true;
    controller.abort(new FetchTimeoutError('total', totalTimeoutMs));
  }, totalTimeoutMs);
  // Never the reason a process stays alive; open sockets already do that.
  timer.unref();
  const onCallerAbort = () => {
    state.callerAborted = true;
    controller.abort(new FetchAbortedError({ cause: options.signal?.reason }));
  };
  if (options.signal?.aborted) {
    clearTimeout(timer);
    throw new FetchAbortedError({ cause: options.signal.reason });
  }
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const release = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  };

  let hop: HopRequest | undefined;
  const redirects: string[] = [];
  let agent: Agent | undefined;
  try {
    let target: string | URL = input;
    for (;;) {
      const { url, addresses } = await checkUrl(target, policy, { signal: controller.signal });
      hop = hop
        ? { ...hop, url }
        : { url, method: (options.method ?? 'GET').toUpperCase(), headers: cleanHeaders(options.headers), body: options.body };

      agent = createPinnedAgent({
        hostname: url.hostname,
        addresses,
        allowNetworks: policy.allowNetworks,
        connectTimeoutMs,
        idleTimeoutMs,
        ca: policy.ca,
        proxy: policy.proxyUrl ? new URL(policy.proxyUrl) : undefined,
      });
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: hop.method as 'GET',
        headers: hop.headers,
        body: hop.body,
        signal: controller.signal,
      });

      const location = res.headers.location;
      if (isRedirect(res.statusCode) && location !== undefined) {
        // Done with this hop: drop its body and its pinned connection.
        res.body.on('error', () => {});
        res.body.destroy();
        await agent.destroy().catch(() => {});
        agent = undefined;
        if (redirects.length >= maxRedirects) {
          throw new UrlNotAllowedError('too many redirects', url.href);
        }
        const next = nextHop(hop, res.statusCode, Array.isArray(location) ? location[0] : location);
        redirects.push(next.url.href);
        hop = next;
        target = next.url;
        continue;
      }

      const headers = toHeaders(res.headers);
      const status = res.statusCode;
      const hopAgent = agent;
      const hasBody = hop.method !== 'HEAD' && status !== 204 && status !== 304;
      const declared = hasBody ? parseContentLengthOrRange(headers, { partial: false }) : undefined;
      if (policy.maxBytes !== undefined && declared !== undefined && declared > policy.maxBytes) {
        // Refuse before reading a byte when the server admits the size.
        res.body.on('error', () => {});
        res.body.destroy();
        await hopAgent.destroy().catch(() => {});
        agent = undefined;
        throw new ResponseTooLargeError(policy.maxBytes, declared);
      }

      let body: LimitedBody | undefined;
      const onAbortBody = () => body?.destroy(controller.signal.reason);
      body = limitBody(res.body, {
        maxBytes: policy.maxBytes,
        mapError: (err) => toFetchError(err, errorContext()),
        onClose: () => {
          controller.signal.removeEventListener('abort', onAbortBody);
          release();
          hopAgent.destroy().catch(() => {});
        },
      });
      // The total deadline (and the caller's signal) keep running while the
      // body streams; a consumer that never reads is cleaned up by them too.
      controller.signal.addEventListener('abort', onAbortBody, { once: true });
      agent = undefined; // owned by the body from here on
      // Nothing to read: let the empty stream end by itself so the socket and
      // timers are released even if the caller only looks at the status.
      if (!hasBody) body.resume();

      const finalUrl = url.href;
      const inMemoryLimit = (limit: number | undefined) =>
        limit ?? Math.min(policy.maxBytes ?? DEFAULT_IN_MEMORY_LIMIT, DEFAULT_IN_MEMORY_LIMIT);
      const limited = body;
      const response: SafeResponse = {
        status,
        ok: status >= 200 && status < 300,
        headers,
        url: finalUrl,
        redirects,
        body: limited,
        buffer: (limitBytes) => readAll(limited, inMemoryLimit(limitBytes)),
        text: async (limitBytes) => {
          const buf = await readAll(limited, inMemoryLimit(limitBytes));
          return new TextDecoder(charsetOf(headers.get('content-type'))).decode(buf);
        },
        assertOk() {
          if (!response.ok) {
            response.dispose();
            throw new HttpStatusError(status, finalUrl);
          }
        },
        dispose() {
          if (!limited.destroyed) limited.destroy();
        },
      };
      return response;
    }
  } catch (err) {
    release();
    if (agent) await agent.destroy().catch(() => {});
    throw toFetchError(err, errorContext());
  }
}
