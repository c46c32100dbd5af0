// Where each file part of a GraphQL multipart request will land, worked out
// from `operations` and `map` alone — the spec sends both before any file — so
// that a part no Upload takes is refused, and each part is capped by the limit
// of the field it fills, before its first byte is spooled.
//
// An Upload argument or input field names its cap in its extensions
// (`{ uploadLimit: 'maxFileBytes' }`, a key of config.limits); a schema with an
// Upload that names none does not start (assertUploadLimits).
import {
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  TypeInfo,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLArgument,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import { LimitExceededError, ValidationError } from '../errors.js';

export const UPLOAD_SCALAR = 'Upload';

/** The extensions entry an Upload argument or input field carries. */
export interface UploadLimitExtension {
  /** A key of config.limits: the most bytes a file in this field may have. */
  uploadLimit: string;
}

export type ByteLimits = Readonly<Record<string, number>>;

export interface UploadTarget {
  /** The map's paths for this part, e.g. `variables.input.file`. */
  paths: string[];
  maxBytes: number;
  /** Where the cap comes from, for messages: `UploadFileInput.file (maxFileBytes)`. */
  limitSource: string;
}

type Holder = GraphQLArgument | GraphQLInputField;
interface Usage {
  type: GraphQLInputType;
  holder: Holder;
  where: string;
}

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value));

function limitOf(holder: Holder, where: string, limits: ByteLimits): { maxBytes: number; limitSource: string } {
  const name = (holder.extensions as Partial<UploadLimitExtension> | undefined)?.uploadLimit;
  const maxBytes = name === undefined ? undefined : limits[name];
  if (typeof maxBytes !== 'number') throw new Error(`${where} takes an Upload but names no known limit in extensions.uploadLimit (got ${JSON.stringify(name)})`);
  return { maxBytes, limitSource: `${where} (${name})` };
}

/** Fails at start-up when an Upload argument or input field does not name its cap. */
export function assertUploadLimits(schema: GraphQLSchema, limits: ByteLimits): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        for (const arg of field.args) if (getNamedType(arg.type).name === UPLOAD_SCALAR) limitOf(arg, `${type.name}.${field.name}(${arg.name})`, limits);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) if (getNamedType(field.type).name === UPLOAD_SCALAR) limitOf(field, `${type.name}.${field.name}`, limits);
    }
  }
}

/** Every place a variable is used as (part of) an argument: its expected type there and the argument or input field holding it. */
function variableUsages(schema: GraphQLSchema, document: DocumentNode): Map<string, Usage[]> {
  const usages = new Map<string, Usage[]>();
  const walk = (value: ValueNode, type: GraphQLInputType, holder: Holder, where: string) => {
    const inner = isNonNullType(type) ? type.ofType : type;
    if (value.kind === Kind.VARIABLE) {
      const list = usages.get(value.name.value) ?? [];
      list.push({ type, holder, where });
      usages.set(value.name.value, list);
    } else if (value.kind === Kind.LIST && isListType(inner)) {
      for (const item of value.values) walk(item, inner.ofType, holder, where);
    } else if (value.kind === Kind.OBJECT && isInputObjectType(inner)) {
      const fields = inner.getFields();
      for (const field of value.fields) {
        const def = fields[field.name.value];
        if (def) walk(field.value, def.type, def, `${inner.name}.${def.name}`);
      }
    }
  };
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        const def = typeInfo.getArgument();
        const parent = typeInfo.getFieldDef();
        if (def) walk(node.value, def.type, def, `${typeInfo.getParentType()?.name ?? 'Directive'}.${parent?.name ?? ''}(${def.name})`);
        return false;
      },
    }),
  );
  return usages;
}

/** Follows `segments` (after `variables.<name>`) through input types; returns the type and holder it ends on, or a reason it does not. */
function follow(type: GraphQLInputType, holder: Holder | undefined, where: string | undefined, segments: string[]): { type: GraphQLInputType; holder?: Holder; where?: string } | string {
  let current = type;
  for (const segment of segments) {
    const inner = isNonNullType(current) ? current.ofType : current;
    if (isListType(inner)) {
      if (!/^(0|[1-9]\d{0,8})$/.test(segment)) return `"${segment}" is not a list index`;
      current = inner.ofType;
    } else if (isInputObjectType(inner)) {
      const def = inner.getFields()[segment];
      if (!def) return `${inner.name} has no field "${segment}"`;
      current = def.type;
      holder = def;
      where = `${inner.name}.${def.name}`;
    } else {
      return `${inner.toString()} has no part "${segment}"`;
    }
  }
  return { type: current, holder, where };
}

const isUploadLeaf = (type: GraphQLInputType) => {
  const inner = isNonNullType(type) ? type.ofType : type;
  return isScalarType(inner) && inner.name === UPLOAD_SCALAR;
};

function selectOperation(document: DocumentNode, operationName: unknown): OperationDefinitionNode {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const chosen = typeof operationName === 'string' ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!chosen) throw new ValidationError('operations.operationName', typeof operationName === 'string' ? `no operation named "${operationName}"` : 'the document has several operations; name one');
  return chosen;
}

export interface ResolveOptions {
  limits: ByteLimits;
  maxFiles: number;
  /** The parser's token cap, as for any other operation. */
  maxTokens: number;
}

/**
 * Checks `operations` and `map` and returns, per file part name, the paths it
 * fills and the most bytes it may have. Throws ValidationError (400) for
 * anything malformed or any path that does not end on an Upload, and
 * LimitExceededError (413) for too many files.
 */
export function resolveUploadTargets(schema: GraphQLSchema, operations: unknown, map: unknown, options: ResolveOptions): Map<string, UploadTarget> {
  if (!isPlainObject(operations)) throw new ValidationError('operations', 'must be a JSON object (batched operations are not supported)');
  if (typeof operations.query !== 'string') throw new ValidationError('operations.query', 'must be a string');
  if (!isPlainObject(map)) throw new ValidationError('map', 'must be a JSON object of file part name → array of paths');
  const entries = Object.entries(map);
  if (entries.length > options.maxFiles) throw new LimitExceededError(`map: at most ${options.maxFiles} files per request (MAX_UPLOAD_FILES), got ${entries.length}`);

  let document: DocumentNode;
  try {
    document = parse(operations.query, { maxTokens: options.maxTokens });
  } catch (err) {
    throw new ValidationError('operations.query', (err as Error).message);
  }
  const operation = selectOperation(document, operations.operationName);
  const declared = new Map(operation.variableDefinitions?.map((d) => [d.variable.name.value, d]) ?? []);
  const usages = variableUsages(schema, document);

  const targets = new Map<string, UploadTarget>();
  for (const [name, paths] of entries) {
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string')) throw new ValidationError('map', `"${name}" must map to a non-empty array of paths`);
    let target: UploadTarget | undefined;
    for (const dotted of paths as string[]) {
      const fail = (why: string) => new ValidationError('map', `"${name}" → "${dotted}": ${why}`);
      const [root, variable, ...rest] = dotted.split('.');
      if ([root, variable, ...rest].some((s) => s === undefined || s === '' || FORBIDDEN_SEGMENTS.has(s))) throw fail('not a path into the variables');
      if (root !== 'variables') throw fail('paths start with "variables." (batched operations are not supported)');
      const definition = declared.get(variable!);
      if (!definition) throw fail(`the operation declares no variable $${variable}`);
      const declaredType = typeFromAST(schema, definition.type as never) as GraphQLInputType | undefined;
      const end = declaredType ? follow(declaredType, undefined, undefined, rest) : 'unknown type';
      if (typeof end === 'string') throw fail(end);
      if (!isUploadLeaf(end.type)) throw fail(`that is a ${end.type.toString()}, not an Upload`);
      let cap: { maxBytes: number; limitSource: string } | undefined;
      for (const usage of usages.get(variable!) ?? []) {
        const at = follow(usage.type, usage.holder, usage.where, rest);
        if (typeof at === 'string' || !isUploadLeaf(at.type) || !at.holder) continue;
        const limit = limitOf(at.holder, at.where!, options.limits);
        if (!cap || limit.maxBytes < cap.maxBytes) cap = limit;
      }
      if (!cap) throw fail(`no Upload argument takes $${variable}${rest.length ? '.' + rest.join('.') : ''}`);
      if (!target) target = { paths: [], ...cap };
      else if (cap.maxBytes < target.maxBytes) Object.assign(target, cap);
      target.paths.push(dotted);
    }
    targets.set(name, target!);
  }
  return targets;
}

/** Puts `value` where `dotted` points in operations; the spot must exist and hold null (own properties only). */
export function placeUpload(operations: Record<string, unknown>, dotted: string, value: unknown): void {
  const segments = dotted.split('.');
  let node: unknown = operations;
  for (const segment of segments.slice(0, -1)) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) throw new ValidationError('map', `"${dotted}" points at a missing part of operations`);
    node = (node as Record<string, unknown>)[segment];
  }
  const last = segments.at(-1)!;
  if (node === null || typeof node !== 'object' || !Object.hasOwn(node, last) || (node as Record<string, unknown>)[last] !== null) {
    throw new ValidationError('map', `"${dotted}" must hold null in operations`);
  }
  (node as Record<string, unknown>)[last] = value;
}
