// Wires the services into one HTTP server: REST routes, GraphQL over HTTP/SSE,
// and GraphQL over WebSocket (graphql-ws) on the same /graphql path.
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { headersFromParams, readCredentials } from './auth/credentials.js';
import type { AuthResult } from './auth/service.js';
import { attachIdentity, createGraphQLServer } from './graphql/yoga.js';
import { sendError, sendJson } from './http/respond.js';
import type { AppServices } from './services.js';

/** A REST route a domain contributes; returns false when the path is not its own. */
export interface HttpRoute {
  name: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<boolean>;
}

export interface RunningApp {
  server: http.Server;
  url: string;
  /** Stop taking requests, close sockets; resolves when the server is closed. */
  close(): Promise<void>;
}

const nodeHeaders = (req: IncomingMessage) => ({ get: (name: string) => (req.headers[name] as string | undefined) ?? null });

function authFailure(res: ServerResponse, result: Exclude<AuthResult, { ok: true }>): void {
  const code = result.problem === 'MISSING' ? 'UNAUTHENTICATED' : `KEY_${result.problem}`;
  sendError(res, code, result.message, 401, { 'www-authenticate': 'Bearer realm="media-gateway", Basic realm="media-gateway"' });
}

export function createApp(services: AppServices, routes: HttpRoute[] = []) {
  const { logger, metrics } = services;
  const yoga = createGraphQLServer(services);

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<string> {
    const path = url.pathname;
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return 'healthz';
    }
    if (path === '/readyz') {
      const failures: Record<string, string> = {};
      await Promise.all(
        services.readiness.map((r) =>
          Promise.race([r.check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 3s')), 3000).unref())]).catch((e: Error) => {
            failures[r.name] = e.message;
          }),
        ),
      );
      const ok = Object.keys(failures).length === 0;
      sendJson(res, ok ? 200 : 503, ok ? { status: 'ready' } : { status: 'unavailable', failures });
      return 'readyz';
    }
    if (path === '/metrics') {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(body);
      return 'metrics';
    }
    if (path === '/graphql') {
      const wantsGraphiQL = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
      if (wantsGraphiQL) {
        await yoga.requestListener(req, res);
        return 'graphiql';
      }
      const auth = await services.accounts.authenticate(readCredentials(nodeHeaders(req)));
      if (!auth.ok) {
        authFailure(res, auth);
        return 'graphql';
      }
      attachIdentity(req, { account: auth.account, requestId });
      await yoga.requestListener(req, res);
      return 'graphql';
    }
    for (const r of routes) {
      if (await r.handle(req, res, url, requestId)) return r.name;
    }
    sendError(res, 'NOT_FOUND', `No route for ${req.method} ${path}`, 404);
    return 'unmatched';
  }

  const server = http.createServer((req, res) => {
    const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    let routeName = 'unmatched';
    route(req, res, url, requestId)
      .then((name) => {
        routeName = name;
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

  // graphql-ws: the key travels in connectionParams ({ "x-api-key": ... } or { "authorization": ... }).
  const wsServer = new WebSocketServer({ server, path: '/graphql' });
  const wsContexts = new WeakMap<object, { account: NonNullable<Extract<AuthResult, { ok: true }>['account']>; requestId: string }>();
  const wsCleanup = useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const auth = await services.accounts.authenticate(readCredentials(headersFromParams(ctx.connectionParams)));
        if (!auth.ok) {
          ctx.extra.socket.close(4401, auth.message);
          return false;
        }
        wsContexts.set(ctx.extra, { account: auth.account, requestId: randomUUID() });
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const identity = wsContexts.get(ctx.extra)!;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          ...identity,
        });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wsServer,
  );

  return {
    server,
    yoga,
    listen(port: number, host: string): Promise<RunningApp> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({
            server,
            url: `http://${shownHost}:${address.port}`,
            close: async () => {
              await wsCleanup.dispose();
              wsServer.close();
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
