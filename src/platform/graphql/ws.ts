// GraphQL over WebSocket (graphql-ws) on the gateway's /graphql path. The key
// travels in connectionParams ({ "x-api-key": … } or { "authorization": … }).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { headersFromParams, readCredentials } from '../auth/credentials.js';
import type { AccountService } from '../auth/service.js';
import type { Account } from '../auth/tables.js';
import type { Logger } from '../logger.js';
import type { GraphQLContext } from './context.js';
import { jsonNestsDeeperThan, rawDepthCap, tooDeepMessage } from './input-checks.js';
import type { ServerContext } from './yoga.js';

export interface GraphQLSocketServer {
  close(): Promise<void>;
}

export interface SocketOptions {
  /** Largest message before connection_init has been accepted. */
  maxUnauthenticatedMessageBytes: number;
  /** Largest message once it has. */
  maxSocketMessageBytes: number;
  maxVariableDepth: number;
  logger: Logger;
}

// ws checks its maxPayload against each frame's declared length before
// buffering the frame, and closes with 1009. It takes one limit per server, so
// sockets start at the small pre-authentication one and are raised once their
// key checks out. ws has no public setter: this writes the field its receiver
// reads on every frame (ws 8); the socket-limit tests fail if that changes.
function raiseMessageLimit(socket: WebSocket, maxBytes: number): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (typeof receiver?._maxPayload !== 'number') throw new Error('ws internals changed: cannot raise the socket message limit');
  receiver._maxPayload = maxBytes;
}

export function attachGraphQLSockets(server: http.Server, yoga: YogaServerInstance<ServerContext, GraphQLContext>, accounts: Pick<AccountService, 'authenticate'>, options: SocketOptions): GraphQLSocketServer {
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: options.maxUnauthenticatedMessageBytes });
  const identities = new WeakMap<object, { account: Account; requestId: string }>();
  const cleanup = useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const auth = await accounts.authenticate(readCredentials(headersFromParams(ctx.connectionParams)));
        if (!auth.ok) {
          ctx.extra.socket.close(4401, auth.message);
          return false;
        }
        identities.set(ctx.extra, { account: auth.account, requestId: randomUUID() });
        raiseMessageLimit(ctx.extra.socket, options.maxSocketMessageBytes);
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const identity = identities.get(ctx.extra)!;
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
  // When ws emits a socket error it has already closed the socket with the
  // fitting code (1009 for a message over the limit, 1002 for a bad frame).
  // graphql-ws's own listener would print each one with console.error, so any
  // client could fill stderr; this runs after it is attached and takes its place.
  //
  // Messages are JSON that graphql-ws parses before anything else sees them; a
  // message nesting too deep is refused from its bytes first (4400, as
  // graphql-ws answers unparseable ones), so it never becomes objects.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (err: Error & { code?: string }) => options.logger.info({ code: err.code, reason: err.message }, 'graphql-ws socket closed on a bad frame'));
    const handlers = socket.listeners('message') as ((data: Buffer, isBinary: boolean) => void)[];
    socket.removeAllListeners('message');
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (jsonNestsDeeperThan(data, rawDepthCap(options))) return socket.close(4400, tooDeepMessage(options));
      for (const handler of handlers) handler.call(socket, data, isBinary);
    });
  });
  return {
    async close() {
      await cleanup.dispose();
      wsServer.close();
    },
  };
}
