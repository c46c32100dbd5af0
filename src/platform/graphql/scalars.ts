import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

export const dateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO 8601 date-time in UTC, e.g. 2026-01-01T14:00:00.000Z',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue(value) {
    return parseDate(value);
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO 8601 string');
    return parseDate(ast.value);
  },
});

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    throw new GraphQLError(`DateTime must be an ISO 8601 string, got ${JSON.stringify(value)}`, { extensions: { code: 'VALIDATION' } });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new GraphQLError(`Invalid DateTime ${value}`, { extensions: { code: 'VALIDATION' } });
  return date;
}

function literalToJson(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw new GraphQLError('JSON literals cannot contain variables');
  }
}

export const jsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literalToJson,
});

// graphql-yoga parses multipart requests (GraphQL multipart request spec) and
// places a WHATWG File in the variables; this scalar only lets it through.
export const uploadScalar = new GraphQLScalarType<File, never>({
  name: 'Upload',
  description: 'A file sent with the GraphQL multipart request spec',
  serialize() {
    throw new GraphQLError('Upload is an input-only scalar');
  },
  parseValue(value) {
    if (value && typeof value === 'object' && typeof (value as File).stream === 'function') return value as File;
    throw new GraphQLError('Upload must be a file part of a multipart request', { extensions: { code: 'VALIDATION' } });
  },
  parseLiteral() {
    throw new GraphQLError('Upload cannot be given inline; send it as a multipart file', { extensions: { code: 'VALIDATION' } });
  },
});
