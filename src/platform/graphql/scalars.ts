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
    // nodes: lets the input checks name the argument this literal belongs to.
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO 8601 string', { nodes: ast });
    try {
      return parseDate(ast.value);
    } catch (err) {
      throw new GraphQLError((err as Error).message, { nodes: ast, extensions: { code: 'VALIDATION' } });
    }
  },
});

// PostgreSQL has no year 0 (JavaScript's year 0 is 1 BC, which reaches it as
// "0000-…" and fails as INTERNAL); instants from year 0001 to 9999 UTC fit both.
const MIN_TIME = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    throw new GraphQLError(`DateTime must be an ISO 8601 string, got ${JSON.stringify(value)}`, { extensions: { code: 'VALIDATION' } });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new GraphQLError(`Invalid DateTime ${value}`, { extensions: { code: 'VALIDATION' } });
  if (date.getTime() < MIN_TIME || date.getTime() > MAX_TIME) {
    throw new GraphQLError(`DateTime ${value} is out of range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z`, { extensions: { code: 'VALIDATION' } });
  }
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
      throw new GraphQLError('JSON literals cannot contain variables', { nodes: ast });
  }
}

export const jsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literalToJson,
});

// The upload plugin (uploads.ts) parses multipart requests (GraphQL multipart
// request spec) and places a File-like value in the variables; this scalar
// only lets it through.
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
  parseLiteral(ast) {
    throw new GraphQLError('Upload cannot be given inline; send it as a multipart file', { nodes: ast, extensions: { code: 'VALIDATION' } });
  },
});
