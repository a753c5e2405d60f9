// The token-state contract shared by the Redis store and the in-memory store (SPEC §3).
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

/** Longest token lifetime a key may have (SPEC §1); bounds how long an index must live. */
export const MAX_TOKEN_TTL_SECONDS = 86_400;

export function secondsLeft(record: TokenRecord, nowMs: number): number {
  return record.exp - Math.floor(nowMs / 1000);
}

/** Compact wire form: a JSON array keeps a live token small (SPEC §8: ≤ 300 bytes in Redis). */
export function encodeRecord(record: TokenRecord): string {
  return JSON.stringify([record.clientId, record.scope, record.iat, record.exp, record.generation]);
}

export function decodeRecord(text: string): TokenRecord | undefined {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || value.length !== 5) return undefined;
  const [clientId, scope, iat, exp, generation] = value as unknown[];
  if (typeof clientId !== 'string' || typeof scope !== 'string' || typeof iat !== 'number'
    || typeof exp !== 'number' || typeof generation !== 'number') {
    return undefined;
  }
  return { clientId, scope, iat, exp, generation };
}
