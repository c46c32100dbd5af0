// GraphQL over WebSocket (graphql-ws) on the gateway's /graphql path. The key
// travels in connectionParams ({ "x-api-key": … } or { "authorization": … }).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { headersFromParams, readCredentials } from '../auth/credentials.js';
import type { AccountService } from '../auth/service.js';
import type { Account } from '../auth/tables.js';
import type { GraphQLContext } from './context.js';
import type { ServerContext } from './yoga.js';

export interface GraphQLSocketServer {
  close(): Promise<void>;
}

export function attachGraphQLSockets(server: http.Server, yoga: YogaServerInstance<ServerContext, GraphQLContext>, accounts: Pick<AccountService, 'authenticate'>): GraphQLSocketServer {
  const wsServer = new WebSocketServer({ server, path: '/graphql' });
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
  return {
    async close() {
      await cleanup.dispose();
      wsServer.close();
    },
  };
}
