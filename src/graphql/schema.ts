// Assembles the schema: platform types, then each domain's types.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './error-types.js';
import './viewer.js';
import './domains.js';

let built: GraphQLSchema | undefined;

export function buildSchema(): GraphQLSchema {
  built ??= builder.toSchema({ sortSchema: true });
  return built;
}

export function printSchemaSDL(): string {
  return printSchema(lexicographicSortSchema(buildSchema())) + '\n';
}
