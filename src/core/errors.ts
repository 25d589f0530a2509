/**
 * One error class per kind of refusal. HTTP status and CLI exit code are mapped here and
 * nowhere else, so an API client and a shell script see the same classification.
 */
export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'node_unavailable'
  | 'internal';

const HTTP_STATUS: Record<ErrorKind, number> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  node_unavailable: 503,
  internal: 500,
};

const EXIT_CODE: Record<ErrorKind, number> = {
  validation: 2,
  unauthenticated: 3,
  forbidden: 4,
  not_found: 5,
  conflict: 6,
  node_unavailable: 7,
  internal: 1,
};

export class FleetError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'FleetError';
  }
  get httpStatus(): number {
    return HTTP_STATUS[this.kind];
  }
  get exitCode(): number {
    return EXIT_CODE[this.kind];
  }
  toJSON(): { error: ErrorKind; message: string } & Record<string, unknown> {
    return { error: this.kind, message: this.message, ...this.details };
  }
}

export class ValidationError extends FleetError {
  constructor(readonly field: string, reason: string) {
    super('validation', `${field}: ${reason}`, { field });
  }
}
export class UnauthenticatedError extends FleetError {
  constructor(message = 'authentication required') {
    super('unauthenticated', message);
  }
}
export class ForbiddenError extends FleetError {
  constructor(message: string) {
    super('forbidden', message);
  }
}
export class NotFoundError extends FleetError {
  constructor(what: string, name: string) {
    super('not_found', `${what} '${name}' does not exist`);
  }
}
export class ConflictError extends FleetError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('conflict', message, details);
  }
}
export class NodeUnavailableError extends FleetError {
  constructor(alias: string, reason: string) {
    super('node_unavailable', `node '${alias}' is unavailable: ${reason}`, { node: alias });
  }
}

export function exitCodeForKind(kind: string): number {
  return EXIT_CODE[kind as ErrorKind] ?? 1;
}

export function statusForKind(kind: string): number {
  return HTTP_STATUS[kind as ErrorKind] ?? 500;
}

export function kindForStatus(status: number): ErrorKind {
  const found = (Object.keys(HTTP_STATUS) as ErrorKind[]).find((k) => HTTP_STATUS[k] === status);
  return found ?? (status >= 500 ? 'internal' : 'validation');
}
