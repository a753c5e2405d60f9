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
 * Compact wire form `generation[.epoch]|iat|lifetime|client_id|scope` (a live token must cost at
 * most 300 bytes of Redis). Epoch 0 is left out, so records of keys whose tokens were never ended
 * read the same before and after epochs existed. Scope goes last because it is the only
 * free-form part: it may hold any character. A record in any other form decodes as nothing, so
 * its token is inactive.
 */
export function encodeRecord(record: TokenRecord): string {
  const stamp = record.epoch === 0 ? `${record.generation}` : `${record.generation}.${record.epoch}`;
  return `${stamp}|${record.iat}|${record.exp - record.iat}|${record.clientId}|${record.scope}`;
}

const RECORD = /^(\d{1,15})(?:\.(\d{1,15}))?\|(\d{1,15})\|(\d{1,15})\|([^|]+)\|/;

export function decodeRecord(text: string): TokenRecord | undefined {
  const match = RECORD.exec(text);
  if (!match) return undefined;
  const iat = Number(match[3]);
  return {
    generation: Number(match[1]),
    epoch: Number(match[2] ?? 0),
    iat,
    exp: iat + Number(match[4]),
    clientId: match[5]!,
    scope: text.slice(match[0].length),
  };
}
