// The token-state contract shared by the Redis store and the in-memory store.
// Records are addressed by a hash of the bearer token (crypto/token-hash.ts), never the token.

export interface TokenRecord {
  clientId: string;
  /** Space-delimited granted scopes. */
  scope: string;
  /** Issued-at and expiry, epoch seconds. */
  iat: number;
  exp: number;
  /** Generation of the key secret that minted the token (see policy/token-state.ts). */
  generation: number;
  /** The key's token epoch when the token was minted (see policy/token-state.ts). */
  epoch: number;
  /**
   * The key the token is bound to (RFC 7800 `cnf`), if any: the SHA-256 thumbprint of a DPoP
   * public key (`jkt`, RFC 9449) or of a TLS client certificate (`x5t#S256`, RFC 8705).
   */
  cnf?: TokenBinding;
}

/** At least one of the two; a certificate-authenticated client that also sent a DPoP proof has both. */
export interface TokenBinding {
  jkt?: string;
  'x5t#S256'?: string;
}

export interface TokenStore {
  readonly kind: 'redis' | 'memory';
  /** Stores the record until its `exp` and adds it to its key's index. */
  save(tokenHash: string, record: TokenRecord): Promise<void>;
  find(tokenHash: string): Promise<TokenRecord | undefined>;
  destroy(tokenHash: string): Promise<void>;
  /** Drops every live token of a key; returns how many records were removed. */
  destroyAllForKey(clientId: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Longest token lifetime a key may have; bounds how long an index must live. */
export const MAX_TOKEN_TTL_SECONDS = 86_400;

export function secondsLeft(record: TokenRecord, nowMs: number): number {
  return record.exp - Math.floor(nowMs / 1000);
}

/**
 * Compact wire form `generation[.epoch][~binding]|iat|lifetime|client_id|scope` (a live token
 * must cost at most 300 bytes of Redis). Epoch 0 is left out, so records of keys whose tokens were
 * never ended read the same before and after epochs existed; likewise an unbound token has no
 * binding part, and a bound one adds 45 bytes per binding: `~j<jkt>`, then `~x<x5t#S256>`
 * (43 base64url characters each). Scope goes last because it is the only free-form part: it may hold any
 * character. A record in any other form decodes as nothing, so its token is inactive — which is
 * also what a server older than bindings makes of a bound token: never a bound token honoured
 * as a bearer one.
 */
export function encodeRecord(record: TokenRecord): string {
  const stamp = record.epoch === 0 ? `${record.generation}` : `${record.generation}.${record.epoch}`;
  return `${stamp}${encodeBinding(record.cnf)}|${record.iat}|${record.exp - record.iat}|${record.clientId}|${record.scope}`;
}

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

function encodeBinding(cnf: TokenBinding | undefined): string {
  if (!cnf) return '';
  const part = (tag: string, thumbprint: string | undefined) => {
    if (thumbprint === undefined) return '';
    if (!THUMBPRINT.test(thumbprint)) throw new Error('token binding: not a SHA-256 thumbprint');
    return `~${tag}${thumbprint}`;
  };
  return part('j', cnf.jkt) + part('x', cnf['x5t#S256']);
}

const RECORD = /^(\d{1,15})(?:\.(\d{1,15}))?(?:~j([A-Za-z0-9_-]{43}))?(?:~x([A-Za-z0-9_-]{43}))?\|(\d{1,15})\|(\d{1,15})\|([^|]+)\|/;

export function decodeRecord(text: string): TokenRecord | undefined {
  const match = RECORD.exec(text);
  if (!match) return undefined;
  const iat = Number(match[5]);
  const record: TokenRecord = {
    generation: Number(match[1]),
    epoch: Number(match[2] ?? 0),
    iat,
    exp: iat + Number(match[6]),
    clientId: match[7]!,
    scope: text.slice(match[0].length),
  };
  if (match[3] || match[4]) record.cnf = { ...(match[3] ? { jkt: match[3] } : {}), ...(match[4] ? { 'x5t#S256': match[4] } : {}) };
  return record;
}
