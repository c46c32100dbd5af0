// Typed storage failures. `code` is stable so callers (GraphQL errors, REST
// routes) can map them without string-matching messages.
export abstract class StorageError extends Error {
  abstract readonly code: string;
}

export class ObjectNotFoundError extends StorageError {
  readonly code = 'OBJECT_NOT_FOUND';
  constructor(readonly key: string) {
    super(`Object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class ObjectTooLargeError extends StorageError {
  readonly code = 'OBJECT_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`Object exceeds the limit of ${maxBytes} bytes`);
    this.name = 'ObjectTooLargeError';
  }
}

export class InvalidRangeError extends StorageError {
  readonly code = 'INVALID_RANGE';
  constructor(
    message: string,
    /** size of the whole object when known, for a 416 Content-Range */
    readonly size?: number,
  ) {
    super(message);
    this.name = 'InvalidRangeError';
  }
}

export class InvalidKeyError extends StorageError {
  readonly code = 'INVALID_KEY';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

export class InvalidSignedUrlOptionsError extends StorageError {
  readonly code = 'INVALID_SIGNED_URL_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSignedUrlOptionsError';
  }
}

export function isStorageError(err: unknown): err is StorageError {
  return err instanceof StorageError;
}
