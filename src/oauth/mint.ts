// Minting goes through oidc-provider's ClientCredentials model so all three token routes
// produce the same opaque token, stored by the same adapter.
import type Provider from 'oidc-provider';
import type { KeySnapshot } from '../keys/model.ts';

export interface MintedToken {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  expiresAt: Date;
  scope: string;
}

export type TokenMinter = (key: KeySnapshot, scopes: readonly string[], secretGeneration: number) => Promise<MintedToken>;

// The library persists a token's `extra` claims, computed by the `extraTokenClaims` hook from the
// token instance alone; this map hands the hook the secret generation of the token being minted.
const generations = new WeakMap<object, number>();

/** `extraTokenClaims` for provider.ts: the secret generation, stored with the token as `g`. */
export function generationClaim(token: object): { g: number } | undefined {
  const g = generations.get(token);
  return g === undefined ? undefined : { g };
}

/** `onMinted` learns of every token issued (last-use tracking); it must not throw. */
export function createTokenMinter(provider: Provider, onMinted: (key: KeySnapshot) => void = () => {}): TokenMinter {
  return async function mintToken(key, scopes, secretGeneration) {
    const client = await provider.Client.find(key.clientId);
    if (!client) throw new Error('key vanished while minting');
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + key.tokenTtlSeconds;
    const scope = scopes.join(' ');
    const token = new provider.ClientCredentials({ client, scope, iat, exp } as never);
    generations.set(token, secretGeneration);
    const accessToken = await token.save();
    onMinted(key);
    return { accessToken, expiresIn: key.tokenTtlSeconds, expiresAt: new Date(exp * 1000), scope };
  };
}
