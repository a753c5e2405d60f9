// Scope rules of the token policy: no requested scope = every effective scope of the key; a requested
// scope the key lacks is refused (oidc-provider would drop it silently).

/** Splits a space-delimited scope parameter; undefined or blank = nothing requested. */
export function parseScopeParam(param: string | undefined): string[] {
  if (param === undefined) return [];
  return [...new Set(param.split(' ').filter((s) => s !== ''))];
}

export type ScopeOutcome = { ok: true; scopes: string[] } | { ok: false; reason: 'scope_not_granted'; missing: string[] };

export function grantScopes(effective: readonly string[], requested: readonly string[]): ScopeOutcome {
  if (requested.length === 0) return { ok: true, scopes: [...effective] };
  const allowed = new Set(effective);
  const missing = requested.filter((scope) => !allowed.has(scope));
  if (missing.length > 0) return { ok: false, reason: 'scope_not_granted', missing };
  return { ok: true, scopes: [...requested] };
}
