// Bad input values get a VALIDATION error (HTTP 400) naming the argument,
// before any resolver — or PostgreSQL — sees them. One generic check for every
// argument of every operation, over HTTP, SSE and graphql-ws alike:
//
// - raw JSON (HTTP bodies, multipart operations, graphql-ws messages) that
//   nests far beyond the limit is refused from its bytes, before it is parsed;
// - variables: nesting depth and list lengths are bounded (walked without
//   recursion, so a deep value costs a loop, not the stack); strings
//   may not hold NUL, which PostgreSQL refuses in text; then each variable is
//   coerced to its declared type here, so a value a scalar refuses (an Int
//   that is not one, a DateTime in year 0) is named by its path;
// - literals in the document: the same NUL rule, and the errors graphql-js
//   reports for bad literal values get the VALIDATION code and the path.
//
// Paths name arguments as the schema spells them (`input.fileName`, `search`),
// whatever the client called its variables.
import {
  coerceInputValue,
  GraphQLError,
  isInputType,
  Kind,
  typeFromAST,
  visit,
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface InputLimits {
  maxVariableDepth: number;
  maxVariableListLength: number;
}

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`: a scan of
 * the raw bytes, so a request nesting half a million levels in 1 MiB is
 * refused before JSON.parse builds half a million arrays (tens of MB).
 * UTF-8 continuation bytes are never ASCII, so bytes can be scanned as is.
 */
export function jsonNestsDeeperThan(text: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * The nesting at which raw request JSON is refused unread. Generous on
 * purpose: a value a little over MAX_VARIABLE_DEPTH still reaches the precise
 * check, which names its argument; this only stops values far beyond it (and
 * the request's own wrapping levels) before they become objects.
 */
export const rawDepthCap = (limits: Pick<InputLimits, 'maxVariableDepth'>) => 2 * limits.maxVariableDepth + 32;

export const tooDeepMessage = (limits: Pick<InputLimits, 'maxVariableDepth'>) => `variables nest far deeper than ${limits.maxVariableDepth} levels (MAX_VARIABLE_DEPTH)`;

export function validationFailure(field: string, message: string, nodes?: readonly ASTNode[]): GraphQLError {
  // spec: false — a bad value is the client's error even for application/json clients.
  return new GraphQLError(`${field}: ${message}`, { nodes, extensions: { code: 'VALIDATION', field, http: { status: 400, spec: false } } });
}

const NUL_MESSAGE = 'must not contain NUL (\\u0000) characters';

interface ArgumentPaths {
  /** Variable name → the argument path of its first use. */
  variables: Map<string, string>;
  /** Each literal value (and object field) inside an argument → its argument path. */
  literals: Map<ASTNode, string>;
}

const pathsByDocument = new WeakMap<DocumentNode, ArgumentPaths>();

function argumentPaths(document: DocumentNode): ArgumentPaths {
  const known = pathsByDocument.get(document);
  if (known) return known;
  const paths: ArgumentPaths = { variables: new Map(), literals: new Map() };
  // Literal values are bounded by the parser's token cap, so recursion is safe here.
  const walk = (value: ValueNode, path: string) => {
    paths.literals.set(value, path);
    if (value.kind === Kind.VARIABLE) {
      if (!paths.variables.has(value.name.value)) paths.variables.set(value.name.value, path);
    } else if (value.kind === Kind.LIST) {
      value.values.forEach((item, i) => walk(item, `${path}.${i}`));
    } else if (value.kind === Kind.OBJECT) {
      for (const field of value.fields) {
        paths.literals.set(field, `${path}.${field.name.value}`);
        walk(field.value, `${path}.${field.name.value}`);
      }
    }
  };
  visit(document, {
    Argument(node) {
      walk(node.value, node.name.value);
      return false;
    },
    VariableDefinition(node) {
      if (node.defaultValue) walk(node.defaultValue, `$${node.variable.name.value}`);
      return false;
    },
  });
  pathsByDocument.set(document, paths);
  return paths;
}

const isPlainValue = (value: object) => Array.isArray(value) || [Object.prototype, null].includes(Object.getPrototypeOf(value));

/** The first problem in one variable's raw value, without recursion: [path below the variable, message]. */
function inspectValue(value: unknown, limits: InputLimits): [string[], string] | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\0')) return [path, NUL_MESSAGE];
      continue;
    }
    // Uploads and other non-JSON objects are the scalars' business.
    if (current === null || typeof current !== 'object' || !isPlainValue(current)) continue;
    if (path.length >= limits.maxVariableDepth) return [path, `nests deeper than ${limits.maxVariableDepth} levels (MAX_VARIABLE_DEPTH)`];
    if (Array.isArray(current)) {
      if (current.length > limits.maxVariableListLength) return [path, `is a list of ${current.length} items; at most ${limits.maxVariableListLength} (MAX_VARIABLE_LIST_LENGTH)`];
      current.forEach((item, i) => stack.push({ value: item, path: [...path, String(i)] }));
    } else {
      for (const [key, item] of Object.entries(current)) {
        if (key.includes('\0')) return [[...path, key], NUL_MESSAGE];
        stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return undefined;
}

function selectedOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
}

/** The first bad variable of an operation about to run, as a VALIDATION error. */
export function checkVariables(args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName' | 'variableValues'>, limits: InputLimits): GraphQLError | undefined {
  const operation = selectedOperation(args.document, args.operationName);
  const inputs = args.variableValues ?? {};
  if (!operation?.variableDefinitions?.length) return undefined;
  const { variables } = argumentPaths(args.document);
  for (const definition of operation.variableDefinitions) {
    const name = definition.variable.name.value;
    const value = inputs[name];
    if (value === undefined) continue;
    const fieldOf = (path: readonly (string | number)[]) => [variables.get(name) ?? `$${name}`, ...path].join('.');
    const problem = inspectValue(value, limits);
    if (problem) return validationFailure(fieldOf(problem[0]), problem[1], [definition]);
    const type = typeFromAST(args.schema, definition.type as never);
    if (!type || !isInputType(type)) continue;
    let failure: GraphQLError | undefined;
    coerceInputValue(value, type, (path, _invalid, error) => {
      failure ??= validationFailure(fieldOf(path), error.message, [definition]);
    });
    if (failure) return failure;
  }
  return undefined;
}

/** Gives graphql-js's errors about literal argument values the VALIDATION code and the argument path; adds the NUL rule for literals. */
export function codeLiteralErrors(document: DocumentNode, errors: readonly GraphQLError[]): GraphQLError[] {
  const { literals } = argumentPaths(document);
  const coded = errors.map((error) => {
    if (error.extensions?.field !== undefined) return error;
    const field = error.nodes?.[0] && literals.get(error.nodes[0]);
    return field ? validationFailure(field, error.message, error.nodes) : error;
  });
  // Idempotent: a cached validation result may come through here again.
  const reported = new Set(coded.map((e) => e.nodes?.[0]));
  for (const [node, field] of literals) {
    if (node.kind === Kind.STRING && node.value.includes('\0') && !reported.has(node)) coded.push(validationFailure(field, NUL_MESSAGE, [node]));
  }
  return coded;
}

export function useInputChecks(limits: InputLimits): Plugin {
  const beforeRunning = ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution(result: { errors: GraphQLError[] }): void }) => {
    const failure = checkVariables(args, limits);
    if (failure) setResultAndStopExecution({ errors: [failure] });
  };
  return {
    onValidate({ params }) {
      return ({ result, setResult }) => {
        const coded = codeLiteralErrors(params.documentAST, result as readonly GraphQLError[]);
        if (coded.length !== result.length || coded.some((e, i) => e !== result[i])) setResult(coded);
      };
    },
    onExecute: beforeRunning as never,
    onSubscribe: beforeRunning as never,
  };
}
