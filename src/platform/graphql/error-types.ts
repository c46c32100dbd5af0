// The typed error interface. Resolvers throw AppError subclasses; mutations
// that list them in `errors: { types }` return them as data instead.
import { AppError, ERROR_CODES, ValidationError } from '../errors.js';
import { builder } from './builder.js';

export const ErrorCodeEnum = builder.enumType('ErrorCode', { values: ERROR_CODES });

export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'A failure the client can act on. `code` is stable; `message` is for people.',
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, resolve: (e) => e.code }),
    message: t.exposeString('message'),
  }),
});

for (const name of ['NotFoundError', 'ForbiddenError', 'ConflictError', 'LimitExceededError', 'UnauthenticatedError', 'GoneError'] as const) {
  builder.objectRef<AppError>(name).implement({
    interfaces: [ErrorInterface],
    isTypeOf: (value) => value instanceof AppError && value.constructor.name === name,
    fields: () => ({}),
  });
}

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ field: t.exposeString('field', { description: 'The argument or input field that is wrong' }) }),
});
