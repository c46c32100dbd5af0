// GraphQL over WebSocket (graphql-ws) on the gateway's /graphql path. The key
// travels in connectionParams ({ "x-api-key": … } or { "authorization": … }).
//
// A socket belongs to its key for its whole life: it counts against the key's
// socket cap (close 4429 past it), every operation on it re-checks the key and
// spends a token of the key's socket-operation bucket before it runs, and a
// revocation heard from any process closes it with 4403.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { headersFromParams, readCredentials, type Credentials } from '../auth/credentials.js';
import type { AccountService } from '../auth/service.js';
import type { Account } from '../auth/tables.js';
import { RateLimitedError } from '../errors.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { Logger } from '../logger.js';
import type { GraphQLContext } from './context.js';
import { jsonNestsDeeperThan, rawDepthCap, tooDeepMessage } from './input-checks.js';
import type { ServerContext } from './yoga.js';

export interface GraphQLSocketServer {
  close(): Promise<void>;
}

/** Close codes: graphql-ws's own Unauthorized, Forbidden and Too Many; reasons say which limit or problem. */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_KEY_REVOKED = 4403;
export const CLOSE_TOO_MANY_SOCKETS = 4429;

interface SocketIdentity {
  account: Account;
  keyId: string;
  credentials: Credentials;
  requestId: string;
}

export interface SocketDeps {
  accounts: Pick<AccountService, 'authenticate' | 'sessions'>;
  rateLimits: Pick<RateLimits, 'socketOps' | 'maxSocketsPerKey'>;
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

export function attachGraphQLSockets(server: http.Server, yoga: YogaServerInstance<ServerContext, GraphQLContext>, options: SocketDeps): GraphQLSocketServer {
  const { accounts, rateLimits } = options;
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: options.maxUnauthenticatedMessageBytes });
  const identities = new WeakMap<object, SocketIdentity>();
  const cleanup = useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const { socket } = ctx.extra;
        const credentials = readCredentials(headersFromParams(ctx.connectionParams));
        const auth = await accounts.authenticate(credentials);
        if (!auth.ok) {
          socket.close(CLOSE_UNAUTHORIZED, auth.message);
          return false;
        }
        // Gone while we were authenticating: its 'close' has fired already, so holding it would leak.
        if (socket.readyState !== socket.OPEN) return false;
        // Counted and held in one synchronous step, so concurrent connects cannot overshoot the cap.
        if (accounts.sessions.count(auth.keyId, 'socket') >= rateLimits.maxSocketsPerKey) {
          socket.close(CLOSE_TOO_MANY_SOCKETS, `Too many graphql-ws sockets for this API key (MAX_SOCKETS_PER_KEY=${rateLimits.maxSocketsPerKey})`);
          return false;
        }
        const release = accounts.sessions.hold(auth.keyId, 'socket', (reason) => socket.close(CLOSE_KEY_REVOKED, reason));
        socket.once('close', release);
        identities.set(ctx.extra, { account: auth.account, keyId: auth.keyId, credentials, requestId: randomUUID() });
        raiseMessageLimit(socket, options.maxSocketMessageBytes);
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const identity = identities.get(ctx.extra)!;
        // The key may have been revoked since the socket opened (a notification
        // can be missed); nothing runs on a key that is no longer valid.
        const auth = await accounts.authenticate(identity.credentials);
        if (!auth.ok) {
          // After the error below has been sent for this operation.
          setImmediate(() => ctx.extra.socket.close(CLOSE_KEY_REVOKED, auth.message));
          return [new GraphQLError(auth.message, { extensions: { code: `KEY_${auth.problem}` } })];
        }
        identity.account = auth.account;
        const taken = rateLimits.socketOps.take(identity.keyId);
        if (!taken.ok) {
          const error = new RateLimitedError(`Too many operations on graphql-ws for this API key; retry in ${taken.retryAfterSeconds} s`, taken.retryAfterSeconds);
          return [new GraphQLError(error.message, { extensions: { code: error.code, retryAfter: error.retryAfterSeconds } })];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          account: identity.account,
          keyId: identity.keyId,
          requestId: identity.requestId,
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
