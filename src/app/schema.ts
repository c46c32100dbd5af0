// Assembles the schema: the platform's types, every domain's (registered when
// DOMAINS loads their modules), and the links between domains.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from '../platform/graphql/builder.js';
import '../platform/graphql/error-types.js';
import '../platform/graphql/viewer.js';
import '../platform/graphql/events.js';
import '../platform/graphql/usage.js';
import { implementJobSchema } from '../jobs/graphql.js';
import './domains.js';
import './links.js';

let built: GraphQLSchema | undefined;

export function buildSchema(): GraphQLSchema {
  // Every domain has registered its job kind by now (importing DOMAINS loaded them).
  implementJobSchema();
  built ??= builder.toSchema({ sortSchema: true });
  return built;
}

export function printSchemaSDL(): string {
  return printSchema(lexicographicSortSchema(buildSchema())) + '\n';
}
