// Expected failures. Each has a stable code that GraphQL exposes in
// extensions.code and REST routes turn into an HTTP status.
export const ERROR_CODES = ['NOT_FOUND', 'VALIDATION', 'FORBIDDEN', 'CONFLICT', 'LIMIT_EXCEEDED', 'UNAUTHENTICATED', 'GONE'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  GONE: 410,
  LIMIT_EXCEEDED: 413,
};

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
  toJSON() {
    return { code: this.code, message: this.message };
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  constructor(what = 'Resource', id?: string) {
    super(id ? `${what} ${id} not found` : `${what} not found`);
  }
}

export class ValidationError extends AppError {
  readonly code = 'VALIDATION';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
  override toJSON() {
    return { ...super.toJSON(), field: this.field };
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
}

export class ConflictError extends AppError {
  readonly code = 'CONFLICT';
}

export class LimitExceededError extends AppError {
  readonly code = 'LIMIT_EXCEEDED';
}

export class UnauthenticatedError extends AppError {
  readonly code = 'UNAUTHENTICATED';
}

export class GoneError extends AppError {
  readonly code = 'GONE';
}
