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

export type TokenMinter = (key: KeySnapshot, scopes: readonly string[]) => Promise<MintedToken>;

export function createTokenMinter(provider: Provider): TokenMinter {
  return async function mintToken(key, scopes) {
    const client = await provider.Client.find(key.clientId);
    if (!client) throw new Error('key vanished while minting');
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + key.tokenTtlSeconds;
    const scope = scopes.join(' ');
    const token = new provider.ClientCredentials({ client, scope, iat, exp } as never);
    const accessToken = await token.save();
    return { accessToken, expiresIn: key.tokenTtlSeconds, expiresAt: new Date(exp * 1000), scope };
  };
}
