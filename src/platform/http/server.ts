// One HTTP server per gateway: /healthz, /readyz, /metrics, GraphQL over
// HTTP/SSE (yoga) and WebSocket (graphql-ws) on /graphql, and the routes the
// domains declared, through the one router.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import { attachIdentity, createGraphQLServer } from '../graphql/yoga.js';
import { jsonNestsDeeperThan, rawDepthCap, tooDeepMessage } from '../graphql/input-checks.js';
import { attachGraphQLSockets } from '../graphql/ws.js';
import type { AuthResult } from '../auth/service.js';
import type { Services } from '../services.js';
import { LimitExceededError, ValidationError } from '../errors.js';
import { AuthFailure, createRouter, readBody, withReadBody, type ErrorFormatter, type Route } from './router.js';
import { sendError, sendJson } from './respond.js';
import { RateLimits } from '../limits/rate-limits.js';

export interface RunningServer {
  server: http.Server;
  url: string;
  /** Stop taking requests, close sockets; resolves when the server is closed. */
  close(): Promise<void>;
}

const READINESS_TIMEOUT_MS = 3000;

// Failures the router answers for /graphql (401, 413) carry the REST shape and
// the GraphQL one, so either kind of client finds its code.
const graphqlErrorBody: ErrorFormatter = (f) => ({
  status: f.status,
  headers: f.headers,
  body: {
    error: { code: f.code, message: f.message, ...(f.field ? { field: f.field } : {}) },
    errors: [{ message: f.message, extensions: { code: f.code, ...(f.field ? { field: f.field } : {}) } }],
  },
});

function platformRoutes(services: Services, yoga: ReturnType<typeof createGraphQLServer>): Route[] {
  return [
    {
      name: 'healthz',
      method: 'GET',
      path: '/healthz',
      auth: 'none',
      rateLimit: false,
      handle: async ({ res }) => sendJson(res, 200, { status: 'ok' }),
    },
    {
      name: 'readyz',
      method: 'GET',
      path: '/readyz',
      auth: 'none',
      rateLimit: false,
      async handle({ res }) {
        const failures: Record<string, string> = {};
        await Promise.all(
          services.readiness.map((r) =>
            Promise.race([r.check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 3s')), READINESS_TIMEOUT_MS).unref())]).catch((e: Error) => {
              failures[r.name] = e.message;
            }),
          ),
        );
        const ok = Object.keys(failures).length === 0;
        sendJson(res, ok ? 200 : 503, ok ? { status: 'ready' } : { status: 'unavailable', failures });
      },
    },
    {
      name: 'metrics',
      method: 'GET',
      path: '/metrics',
      auth: 'none',
      rateLimit: false,
      async handle({ res }) {
        const body = await services.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': services.metrics.registry.contentType });
        res.end(body);
      },
    },
    {
      name: 'graphql',
      method: ['GET', 'POST'],
      path: '/graphql',
      // GraphiQL (a browser asking for HTML) needs no key; every operation does.
      auth: 'optional',
      formatError: graphqlErrorBody,
      async handle(ctx) {
        const { req, res, url } = ctx;
        const wantsGraphiQL = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
        let yogaRequest = req;
        if (!wantsGraphiQL) {
          if (!ctx.account) throw new AuthFailure(ctx.auth as Exclude<AuthResult, { ok: true }>);
          const { limits } = services.config;
          if (url.search.length > limits.maxRequestBodyBytes) throw new LimitExceededError(`The query string is larger than the ${limits.maxRequestBodyBytes}-byte limit`);
          // Yoga's own reader buffers whatever arrives, so the body is read
          // here within the limit and yoga reads these bytes instead of the
          // socket. Multipart bodies stream through the upload plugin, which
          // applies its own limits.
          if (req.method === 'POST' && !/^multipart\//i.test(req.headers['content-type'] ?? '')) {
            const body = await readBody(req, limits.maxRequestBodyBytes);
            if (/json/i.test(req.headers['content-type'] ?? '') && jsonNestsDeeperThan(body, rawDepthCap(limits))) throw new ValidationError('variables', tooDeepMessage(limits));
            yogaRequest = withReadBody(req, body);
          }
          attachIdentity(yogaRequest, { account: ctx.account, keyId: ctx.keyId!, requestId: ctx.requestId });
        }
        await yoga.requestListener(yogaRequest, res);
      },
    },
  ];
}

export function createServer(services: Services, schema: GraphQLSchema, domainRoutes: readonly Route[]) {
  const { logger, metrics } = services;
  const rateLimits = new RateLimits(services.config.rateLimits);
  const yoga = createGraphQLServer(schema, services, rateLimits);
  const router = createRouter([...platformRoutes(services, yoga), ...domainRoutes], {
    authenticate: (headers) => services.accounts.authenticateHeaders(headers),
    logger,
    maxJsonBytes: services.config.limits.maxRequestBodyBytes,
    rateLimits,
  });

  const server = http.createServer((req, res) => {
    const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    let routeName = 'unmatched';
    router
      .handle(req, res, url, requestId)
      .then((name) => {
        if (name) routeName = name;
        else sendError(res, 'NOT_FOUND', `No route for ${req.method} ${url.pathname}`, 404);
      })
      .catch((err: unknown) => {
        logger.error({ err, requestId }, 'request failed');
        if (!res.headersSent) sendError(res, 'INTERNAL', 'Internal error', 500);
        else res.destroy();
      })
      .finally(() => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.httpRequests.inc({ method: req.method ?? 'GET', route: routeName, status: String(res.statusCode) });
        metrics.httpDuration.observe({ method: req.method ?? 'GET', route: routeName }, seconds);
        if (routeName !== 'healthz' && routeName !== 'metrics') {
          logger.info({ requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
        }
      });
  });

  const sockets = attachGraphQLSockets(server, yoga, { accounts: services.accounts, rateLimits, ...services.config.limits, logger });

  return {
    server,
    yoga,
    router,
    listen(port: number, host: string): Promise<RunningServer> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({
            server,
            url: `http://${shownHost}:${address.port}`,
            close: async () => {
              await sockets.close();
              server.closeIdleConnections();
              await new Promise<void>((done) => {
                server.close(() => done());
                // Long-lived SSE streams would hold close() open forever.
                setTimeout(() => server.closeAllConnections(), 2000).unref();
              });
              await yoga.dispose();
            },
          });
        });
      });
    },
  };
}
