// The syntax of one scope, shared by the key rules and the token endpoint.

/** RFC 6749 §3.3 scope-token characters; a single scope is at most 128 of them. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

export function isValidScopeToken(scope: string): boolean {
  return SCOPE_TOKEN.test(scope);
}
