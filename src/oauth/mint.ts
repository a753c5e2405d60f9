// Minting goes through oidc-provider's ClientCredentials model so all three token routes
// produce the same opaque token, stored by the same adapter.
import type Provider from 'oidc-provider';
import type { KeySnapshot } from '../keys/model.ts';
import type { TokenBinding } from '../stores/tokens.ts';

export interface MintedToken {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  expiresAt: Date;
  scope: string;
  /** `DPoP` for a token bound to a DPoP key (RFC 9449 §5), otherwise `Bearer`. */
  tokenType: 'Bearer' | 'DPoP';
}

export type TokenMinter = (key: KeySnapshot, scopes: readonly string[], secretGeneration: number, binding?: TokenBinding) => Promise<MintedToken>;

// The library persists a token's `extra` claims, computed by the `extraTokenClaims` hook from the
// token instance alone; this map hands the hook the secret generation and the key's token epoch
// of the token being minted.
const stamps = new WeakMap<object, { g: number; e: number }>();

/** `extraTokenClaims` for provider.ts: secret generation `g` and token epoch `e`, stored with the token. */
export function generationClaim(token: object): { g: number; e: number } | undefined {
  return stamps.get(token);
}

/** `onMinted` learns of every token issued (last-use tracking); it must not throw. */
export function createTokenMinter(provider: Provider, onMinted: (key: KeySnapshot) => void = () => {}): TokenMinter {
  return async function mintToken(key, scopes, secretGeneration, binding) {
    const client = await provider.Client.find(key.clientId);
    if (!client) throw new Error('key vanished while minting');
    const iat = Math.floor(Date.now() / 1000);
    // A token never outlives its key: extending an expired key must not bring its tokens back.
    const keyEnds = key.expiresAt === null ? Infinity : Math.floor(key.expiresAt.getTime() / 1000);
    const exp = Math.min(iat + key.tokenTtlSeconds, keyEnds);
    const scope = scopes.join(' ');
    // The library's own binding properties: its ClientCredentials stores them and reports DPoP.
    const token = new provider.ClientCredentials({ client, scope, iat, exp, ...binding } as never);
    stamps.set(token, { g: secretGeneration, e: key.tokenEpoch });
    const accessToken = await token.save();
    onMinted(key);
    return { accessToken, expiresIn: exp - iat, expiresAt: new Date(exp * 1000), scope, tokenType: binding?.jkt ? 'DPoP' : 'Bearer' };
  };
}
