// Expected failures. Each has a stable code that GraphQL exposes in
// extensions.code and REST routes turn into an HTTP status.
export const ERROR_CODES = ['NOT_FOUND', 'VALIDATION', 'FORBIDDEN', 'CONFLICT', 'LIMIT_EXCEEDED', 'UNAUTHENTICATED', 'GONE', 'RATE_LIMITED'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  GONE: 410,
  LIMIT_EXCEEDED: 413,
  RATE_LIMITED: 429,
};

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
  /** Response headers that go with the status (Retry-After for RATE_LIMITED). */
  get httpHeaders(): Record<string, string> | undefined {
    return undefined;
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

/** Over a rate limit: 429 with Retry-After over HTTP, extensions.retryAfter in GraphQL. */
export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED';
  constructor(
    message: string,
    /** Whole seconds until the request would be accepted (at least 1). */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
  override get httpHeaders() {
    return { 'retry-after': String(this.retryAfterSeconds) };
  }
  override toJSON() {
    return { ...super.toJSON(), retryAfter: this.retryAfterSeconds };
  }
}
