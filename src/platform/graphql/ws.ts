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
import { WebSocketServer } from 'ws';
import { headersFromParams, readCredentials, type Credentials } from '../auth/credentials.js';
import type { AccountService } from '../auth/service.js';
import type { Account } from '../auth/tables.js';
import { RateLimitedError } from '../errors.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { GraphQLContext } from './context.js';
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
}

export function attachGraphQLSockets(server: http.Server, yoga: YogaServerInstance<ServerContext, GraphQLContext>, { accounts, rateLimits }: SocketDeps): GraphQLSocketServer {
  const wsServer = new WebSocketServer({ server, path: '/graphql' });
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
  return {
    async close() {
      await cleanup.dispose();
      wsServer.close();
    },
  };
}
