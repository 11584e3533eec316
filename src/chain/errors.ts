// The three ways a lookup ends without an answer, kept apart because callers act differently on each:
// a bad argument is the caller's fault, "not found" is an answer (and is never served from a stale cache),
// and "unavailable" lists every endpoint that was tried so the operator can see which one is broken.

/** Why one backend call failed; the resolver moves on to the next endpoint for all of these. */
export type FailureKind = 'timeout' | 'network' | 'http' | 'rpc' | 'io' | 'malformed' | 'unsupported' | 'internal';

/** Thrown by a backend for one failed call. */
export class BackendError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

export class ChainArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainArgumentError';
  }
}

export class ChainNotFoundError extends Error {
  constructor(
    readonly what: string,
    /** The backend that gave the definitive "no such record". */
    readonly backend: string,
  ) {
    super(`${what} not found (${backend})`);
    this.name = 'ChainNotFoundError';
  }
}

export interface Failure {
  readonly backend: string;
  readonly kind: FailureKind;
  readonly message: string;
}

export class ChainUnavailableError extends Error {
  constructor(
    readonly what: string,
    readonly failures: readonly Failure[],
  ) {
    const detail = failures.map((f) => `${f.backend}: ${f.message}`).join('; ');
    super(`cannot look up ${what}: ${failures.length ? detail : 'no backend configured'}`);
    this.name = 'ChainUnavailableError';
  }
}

/** For decoders: a record that does not have the shape the chain or proxy promises. */
export function malformed(message: string): BackendError {
  return new BackendError('malformed', message);
}
