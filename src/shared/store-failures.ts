// A backing store that cannot answer right now. Routes turn it into 503 (OAuth:
// `temporarily_unavailable`), never into a false "active" or a 500 with internals.

export class StoreUnavailableError extends Error {
  readonly store: string;
  constructor(store: string, operation: string, options?: { cause?: unknown }) {
    super(`${store} unavailable during ${operation}`, options);
    this.store = store;
  }
}

// ioredis's own "cannot reach the server" errors, and the replies of a server that is up but cannot
// serve (still loading, failing over, a read-only replica after a switch, a cluster slot moving).
const REDIS_UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);
const REDIS_UNAVAILABLE_REPLY = /^(LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|MOVED|ASK)\b/;

const PG_CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const NODE_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** True for errors that mean "the store could not be reached", not "the query (or our code) was wrong". */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  // Wrapped on its way through another layer (e.g. oidc-provider's temporarily_unavailable).
  if (error.cause !== undefined && error.cause !== error && isConnectionFailure(error.cause)) return true;
  if (REDIS_UNAVAILABLE_NAMES.has(error.name) || REDIS_UNAVAILABLE_REPLY.test(error.message)) return true;
  // Not every `code` is a string: a DOMException's is a number (a malformed DPoP proof's cause).
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NODE_CONNECTION_CODES.has(code) || PG_CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  return (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|Stream isn't writeable|Command timed out|None of startup nodes is available|All sentinels are unreachable|Failed to refresh slots cache/i.test(
      error.message,
    )
    || (error instanceof AggregateError && error.errors.some(isConnectionFailure))
  );
}
