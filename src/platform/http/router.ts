// The one HTTP router: a table of method + path patterns. It authenticates
// (when a route asks), applies the request rate limit (per API key, or per
// client address without a valid key), reads JSON bodies within a byte limit, and turns every
// thrown error into a status and a JSON body in one place, so routes and REST
// adapters only say what they do.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { readCredentials } from '../auth/credentials.js';
import type { AuthResult } from '../auth/service.js';
import type { Account } from '../auth/tables.js';
import { AppError, HTTP_STATUS, LimitExceededError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { addressBucket, enforce, type RateLimits } from '../limits/rate-limits.js';
import { discardRestOfBody } from './refused-body.js';
import { sendJson } from './respond.js';

export type AuthMode =
  /** 401 unless a valid key (or token) came with the request */
  | 'required'
  /** the account when valid credentials came; none otherwise (never 401) */
  | 'optional'
  /** credentials are not looked at */
  | 'none';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** `:name` parts of the path, URI-decoded */
  params: Record<string, string>;
  requestId: string;
  /** Set when the route authenticates and the credentials are valid. */
  account?: Account;
  /** Which key authenticated (API key id), when one did. */
  keyId?: string;
  /** The authentication outcome, for routes that decide themselves what a failure means. */
  auth?: AuthResult;
  /** The parsed JSON body, for routes with `body: 'json'`. */
  body?: unknown;
}

/** How a route group renders failures; defaults to `{ error: { code, message } }`. */
export type ErrorFormatter = (failure: HttpFailure) => { status: number; body: unknown; headers?: Record<string, string> };

export interface HttpFailure {
  status: number;
  /** Stable code, e.g. NOT_FOUND, KEY_REVOKED */
  code: string;
  message: string;
  /** The input field at fault, for validation failures. */
  field?: string;
  headers?: Record<string, string>;
}

export interface Route {
  /** Metric and log label. */
  name: string;
  /** GET also answers HEAD. */
  method: string | readonly string[];
  /** `/media/:id`, `/fetch/:id/:filename`; a trailing `*` matches any rest (`/objects/*`). */
  path: string;
  auth: AuthMode;
  /** false: not rate limited (health checks and metrics scrapes). */
  rateLimit?: boolean;
  body?: 'json';
  formatError?: ErrorFormatter;
  handle(ctx: RouteContext): Promise<void>;
}

export interface RouterDeps {
  authenticate(headers: { get(name: string): string | null | undefined }): Promise<AuthResult>;
  logger: Logger;
  /** Largest JSON body a route accepts. */
  maxJsonBytes: number;
  rateLimits?: Pick<RateLimits, 'http' | 'anonymous'>;
}

interface CompiledRoute {
  route: Route;
  methods: Set<string>;
  pattern: RegExp;
  names: string[];
}

/** An authentication failure: answered 401 with the problem as its code. */
export class AuthFailure extends Error {
  constructor(readonly result: Exclude<AuthResult, { ok: true }>) {
    super(result.message);
  }
  get code(): string {
    return this.result.problem === 'MISSING' ? 'UNAUTHENTICATED' : `KEY_${this.result.problem}`;
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const WWW_AUTHENTICATE = 'Bearer realm="media-gateway", Basic realm="media-gateway"';

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((part) => {
      if (part === '*') return '(?<rest>.*)';
      if (part.startsWith(':')) {
        names.push(part.slice(1));
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  const methods = new Set(typeof route.method === 'string' ? [route.method] : route.method);
  if (methods.has('GET')) methods.add('HEAD');
  return { route, methods, names, pattern: new RegExp(`^${source}/?$`) };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return '';
  }
}

export function failureOf(err: unknown): HttpFailure | undefined {
  if (err instanceof AuthFailure) return { status: 401, code: err.code, message: err.message, headers: { 'www-authenticate': WWW_AUTHENTICATE } };
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, headers: err.headers };
  if (err instanceof ValidationError) return { status: 400, code: err.code, message: err.message, field: err.field };
  if (err instanceof AppError) return { status: err.httpStatus, code: err.code, message: err.message, headers: err.httpHeaders };
  return undefined;
}

const defaultFormat: ErrorFormatter = (f) => ({
  status: f.status,
  body: { error: { code: f.code, message: f.message, ...(f.field ? { field: f.field } : {}) } },
  headers: f.headers,
});

/**
 * The request body, refused with LIMIT_EXCEEDED as soon as it passes `maxBytes`
 * (a declared Content-Length says so before a byte is read), so a huge body
 * costs at most `maxBytes` of memory.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new LimitExceededError(`The request body is larger than the ${maxBytes}-byte limit`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false — leaving the loop early must not destroy the
  // request (and its socket): the refusal still has to be sent on it.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A stand-in for `req` whose body is `body`, already read, for a handler that
 * reads the body itself (yoga). Not `req.body = body`: that path of
 * @whatwg-node/server runs Object.keys over the buffer (a million strings per MiB).
 */
export function withReadBody(req: IncomingMessage, body: Buffer): IncomingMessage {
  const replay = Readable.from(body.length ? [body] : [], { objectMode: false });
  return Object.assign(replay, { url: req.url, method: req.method, headers: req.headers, rawHeaders: req.rawHeaders, httpVersion: req.httpVersion, socket: req.socket, complete: true }) as unknown as IncomingMessage;
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
  const text = (await readBody(req, maxBytes)).toString('utf8');
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('body', 'is not valid JSON');
  }
}

export interface Router {
  /** Answers the request when a route's path matches; returns its name, or undefined when none does. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<string | undefined>;
  readonly routes: readonly Route[];
}

export function createRouter(routes: readonly Route[], deps: RouterDeps): Router {
  const compiled = routes.map(compile);
  return {
    routes,
    async handle(req, res, url, requestId) {
      const method = req.method ?? 'GET';
      const matching = compiled.map((c) => ({ c, match: c.pattern.exec(url.pathname) })).filter((m) => m.match);
      if (!matching.length) return undefined;
      const hit = matching.find((m) => m.c.methods.has(method));
      if (!hit) {
        const allow = [...new Set(matching.flatMap((m) => [...m.c.methods]))].join(', ');
        respondFailure(res, matching[0]!.c.route.formatError, { status: 405, code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed on ${url.pathname}`, headers: { allow } });
        return matching[0]!.c.route.name;
      }
      const { route, names } = hit.c;
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = decode(hit.match![i + 1]!)));
      if (hit.match!.groups?.rest !== undefined) params['*'] = hit.match!.groups.rest;
      const ctx: RouteContext = { req, res, url, params, requestId };
      try {
        if (route.auth !== 'none') {
          const result = await deps.authenticate({ get: (name) => req.headers[name] as string | undefined });
          ctx.auth = result;
          if (result.ok) {
            ctx.account = result.account;
            ctx.keyId = result.keyId;
          }
        }
        if (route.rateLimit !== false && deps.rateLimits) {
          if (ctx.keyId !== undefined) enforce(deps.rateLimits.http.take(ctx.keyId), 'requests for this API key');
          else enforce(deps.rateLimits.anonymous.take(addressBucket(req.socket.remoteAddress)), 'requests without an API key from this address');
        }
        if (route.auth === 'required' && ctx.auth && !ctx.auth.ok) throw new AuthFailure(ctx.auth);
        if (route.body === 'json') ctx.body = await readJson(req, deps.maxJsonBytes);
        await route.handle(ctx);
      } catch (err) {
        const failure = failureOf(err);
        if (!failure) deps.logger.error({ err, requestId, route: route.name }, 'route failed');
        if (res.headersSent) {
          res.destroy();
        } else {
          // The client may still be sending a body we refused: let it see this answer.
          discardRestOfBody(req);
          respondFailure(res, route.formatError, failure ?? { status: 500, code: 'INTERNAL', message: 'Internal error' });
        }
      }
      return route.name;
    },
  };
}

function respondFailure(res: ServerResponse, format: ErrorFormatter | undefined, failure: HttpFailure): void {
  const out = (format ?? defaultFormat)(failure);
  sendJson(res, out.status, out.body, { ...failure.headers, ...out.headers });
}

export { HTTP_STATUS };
