/**
 * One error class per kind of refusal. HTTP status and CLI exit code are mapped here and
 * nowhere else, so an API client and a shell script see the same classification.
 *
 * Code throws the class of its kind; `refusalOfKind` is only for a kind that arrives from
 * elsewhere (an agent's or the parent's JSON answer, a failure carried over from a node).
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

type Details = Record<string, unknown>;

/** A refusal worded in full by its caller, for the kinds whose usual wording does not fit. */
export interface Worded {
  message: string;
  details?: Details;
}

export abstract class FleetError extends Error {
  protected constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: Details = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
  get httpStatus(): number {
    return HTTP_STATUS[this.kind];
  }
  get exitCode(): number {
    return EXIT_CODE[this.kind];
  }
  toJSON(): { error: ErrorKind; message: string } & Details {
    return { error: this.kind, message: this.message, ...this.details };
  }
}

export class ValidationError extends FleetError {
  /** The input field at fault, when one is; a daemon rejecting its rendered config names none. */
  readonly field: string | undefined;
  constructor(field: string, reason: string);
  constructor(worded: Worded);
  constructor(fieldOrWorded: string | Worded, reason = '') {
    if (typeof fieldOrWorded === 'string') super('validation', `${fieldOrWorded}: ${reason}`, { field: fieldOrWorded });
    else super('validation', fieldOrWorded.message, fieldOrWorded.details);
    this.field = typeof fieldOrWorded === 'string' ? fieldOrWorded : undefined;
  }
}
export class UnauthenticatedError extends FleetError {
  constructor(message = 'authentication required', details: Details = {}) {
    super('unauthenticated', message, details);
  }
}
export class ForbiddenError extends FleetError {
  constructor(message: string, details: Details = {}) {
    super('forbidden', message, details);
  }
}
export class NotFoundError extends FleetError {
  constructor(what: string, name: string);
  constructor(worded: Worded);
  constructor(whatOrWorded: string | Worded, name = '') {
    if (typeof whatOrWorded === 'string') super('not_found', `${whatOrWorded} '${name}' does not exist`);
    else super('not_found', whatOrWorded.message, whatOrWorded.details);
  }
}
export class ConflictError extends FleetError {
  constructor(message: string, details: Details = {}) {
    super('conflict', message, details);
  }
}
export class NodeUnavailableError extends FleetError {
  constructor(alias: string, reason: string);
  constructor(worded: Worded);
  constructor(aliasOrWorded: string | Worded, reason = '') {
    if (typeof aliasOrWorded === 'string') super('node_unavailable', `node '${aliasOrWorded}' is unavailable: ${reason}`, { node: aliasOrWorded });
    else super('node_unavailable', aliasOrWorded.message, aliasOrWorded.details);
  }
}
/**
 * Not the caller's fault: the machine lacks something the panel needs (a system user, a daemon
 * that will not start) or a wait ran out. Still a classified answer, unlike a programming error.
 */
export class InternalError extends FleetError {
  constructor(message: string, details: Details = {}) {
    super('internal', message, details);
  }
}

const isErrorKind = (kind: string): kind is ErrorKind => Object.hasOwn(HTTP_STATUS, kind);

/** The kind an HTTP answer stands for, when its body does not name one. */
export function kindForStatus(status: number): ErrorKind {
  const found = (Object.keys(HTTP_STATUS) as ErrorKind[]).find((k) => HTTP_STATUS[k] === status);
  return found ?? (status >= 500 ? 'internal' : 'validation');
}

/** The refusal of a kind named by someone else; an unknown kind is treated as internal. */
export function refusalOfKind(kind: string, message: string, details: Details = {}): FleetError {
  const worded = { message, details };
  switch (isErrorKind(kind) ? kind : 'internal') {
    case 'validation':
      return new ValidationError(worded);
    case 'unauthenticated':
      return new UnauthenticatedError(message, details);
    case 'forbidden':
      return new ForbiddenError(message, details);
    case 'not_found':
      return new NotFoundError(worded);
    case 'conflict':
      return new ConflictError(message, details);
    case 'node_unavailable':
      return new NodeUnavailableError(worded);
    case 'internal':
      return new InternalError(message, details);
  }
}

/** The kind of any thrown value: a plain Error (a programming error) counts as internal. */
export function kindOf(error: unknown): ErrorKind {
  return error instanceof FleetError ? error.kind : 'internal';
}

export function exitCodeForKind(kind: string): number {
  return EXIT_CODE[isErrorKind(kind) ? kind : 'internal'];
}
