import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ValidationPlugin from '@pothos/plugin-validation';
import { isObjectType } from 'graphql';
import { ValidationError } from '../errors.js';
import { decodeNodeId } from '../ids.js';
import type { GraphQLContext } from './context.js';
import { dateTimeScalar, jsonScalar, uploadScalar } from './scalars.js';

export interface Types {
  Context: GraphQLContext;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    Upload: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}

export const builder = new SchemaBuilder<Types>({
  plugins: [ErrorsPlugin, ValidationPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Garbage and bare UUIDs are a VALIDATION error naming `id`, not INTERNAL.
    decodeGlobalID: (raw) => decodeNodeId(raw),
    // node(id) answers only for the caller's records; each type's loader is
    // account-scoped, so another account's id is null, exactly like a missing one.
    // A type name that is no Node type is the client's mistake, said as such.
    nodeQueryOptions: {
      resolve: (_root, { id }, _ctx, info, resolveNode) => {
        const type = info.schema.getType(id.typename);
        if (!isObjectType(type) || !type.getInterfaces().some((i) => i.name === 'Node')) throw new ValidationError('id', `names type "${id.typename}", which has no ids`);
        return resolveNode(id);
      },
    },
    nodesQueryOptions: false,
  },
  errors: { defaultTypes: [] },
});

builder.addScalarType('DateTime', dateTimeScalar);
builder.addScalarType('JSON', jsonScalar);
builder.addScalarType('Upload', uploadScalar);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
