import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { execute, GraphQLError, subscribe, type DefinitionNode, type GraphQLSchema } from 'graphql';
import { useEngine } from '@envelop/core';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import type { Account } from '../auth/tables.js';
import type { Services } from '../services.js';
import type { GraphQLContext } from './context.js';
import { GRAPHIQL_DEFAULT_QUERY } from './graphiql.js';
import { useInputChecks } from './input-checks.js';
import { assertUploadLimits } from './upload-targets.js';
import { useStreamingUploads } from './uploads.js';
import { lastEventId, useEventIds } from './event-ids.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { useFetchRateLimit, useStreamRevocation } from './key-limits.js';

export interface ServerContext {
  req: IncomingMessage;
  res: ServerResponse;
}

export interface RequestIdentity {
  account: Account;
  keyId: string;
  requestId: string;
}

// The HTTP layer authenticates before yoga runs and leaves the identity here;
// graphql-ws passes it in its own context instead.
const identities = new WeakMap<object, RequestIdentity>();
export const attachIdentity = (req: IncomingMessage, identity: RequestIdentity) => identities.set(req, identity);

// Armor rejections are plain GraphQLErrors; give them the stable code clients match on.
const limitExceeded = (_ctx: unknown, error: GraphQLError) => {
  (error.extensions as Record<string, unknown>).code = 'LIMIT_EXCEEDED';
};
const armorCallbacks = { onReject: [limitExceeded], propagateOnRejection: true };
const MAX_TOKENS = 2000;

export function toGraphQLError(error: unknown): GraphQLError | undefined {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof AppError) {
    const gqlError = error instanceof GraphQLError ? error : undefined;
    return new GraphQLError(original.message, {
      nodes: gqlError?.nodes,
      path: gqlError?.path,
      extensions: { ...original.toJSON(), message: undefined, http: { status: original.httpStatus, headers: original.httpHeaders } },
    });
  }
  // Pothos validation plugin: name the first offending field.
  if (original instanceof Error && original.name === 'PothosValidationError' && 'issues' in original) {
    const issues = (original as { issues: { path?: readonly (string | number | { key: string | number })[]; message: string }[] }).issues;
    const first = issues[0];
    const field = (first?.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)).join('.') || 'input';
    const gqlError = error instanceof GraphQLError ? error : undefined;
    return new GraphQLError(`${field}: ${first?.message ?? 'invalid'}`, { nodes: gqlError?.nodes, path: gqlError?.path, extensions: { code: 'VALIDATION', field, http: { status: 400 } } });
  }
  return undefined;
}

function metricsPlugin(services: Services): Plugin {
  return {
    onExecute({ args }) {
      const op = args.document.definitions.find((d: DefinitionNode) => d.kind === 'OperationDefinition');
      const type = op && 'operation' in op ? op.operation : 'unknown';
      const name = (op && 'name' in op && op.name?.value) || 'anonymous';
      const end = services.metrics.graphqlDuration.startTimer({ type, name });
      return {
        onExecuteDone({ result }) {
          end();
          const failed = 'errors' in result && !!result.errors?.length;
          services.metrics.graphqlOperations.inc({ type, name, result: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}

export function createGraphQLServer(schema: GraphQLSchema, services: Services, rateLimits: RateLimits): YogaServerInstance<ServerContext, GraphQLContext> {
  const { limits } = services.config;
  assertUploadLimits(schema, limits);
  const armor = EnvelopArmorPlugin({
    maxDepth: { n: 12, ...armorCallbacks },
    maxAliases: { n: 15, ...armorCallbacks },
    costLimit: { maxCost: 5000, ...armorCallbacks },
    maxTokens: { n: MAX_TOKENS, ...armorCallbacks },
    maxDirectives: { n: 50, ...armorCallbacks },
    blockFieldSuggestion: { enabled: true },
  });
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    plugins: [
      // graphql-js's executor: yoga's default one writes each field of an object as its
      // resolver settles, so async fields (signed links) came out of query order,
      // against the spec (test/platform/field-order.test.ts).
      useEngine({ execute, subscribe }),
      armor,
      metricsPlugin(services),
      useEventIds(),
      useFetchRateLimit(rateLimits.fetch, toGraphQLError),
      useStreamRevocation(services.accounts.sessions),
      useInputChecks(limits),
      useStreamingUploads({
        schema,
        limits,
        spoolDir: services.config.spoolDir,
        maxFiles: limits.maxUploadFiles,
        maxRequestBytes: limits.maxUploadRequestBytes,
        maxFieldBytes: limits.maxRequestBodyBytes,
        maxVariableDepth: limits.maxVariableDepth,
        maxTokens: MAX_TOKENS,
      }),
    ],
    context: (initial: Partial<ServerContext & RequestIdentity> & { request?: Request }): GraphQLContext => {
      const identity = initial.account ? (initial as RequestIdentity) : identities.get(initial.req!);
      if (!identity) throw new Error('GraphQL executed without an authenticated identity');
      return { account: identity.account, keyId: identity.keyId, requestId: identity.requestId, services, stream: { resumeFrom: lastEventId(initial.request) } };
    },
    graphiql: {
      title: 'media-gateway',
      defaultQuery: GRAPHIQL_DEFAULT_QUERY,
      headers: JSON.stringify({ 'X-API-KEY': 'paste the key printed at first start (or from `media-gateway keys create`)' }),
    },
    maskedErrors: {
      maskError(error, message) {
        const mapped = toGraphQLError(error);
        if (mapped) return mapped;
        if (error instanceof GraphQLError && !error.originalError) return error; // parse/validation errors are safe to show
        services.logger.error({ err: error instanceof GraphQLError ? error.originalError : error }, 'unexpected resolver error');
        return new GraphQLError(message, { extensions: { code: 'INTERNAL' } });
      },
    },
  });
}
