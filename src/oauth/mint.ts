// Every token route mints here: the plain token path, the library's client_credentials grant
// (DPoP- and certificate-bound tokens too) and the API-key exchanges. A token is an opaque random
// value; what it grants is its record in the token store, under a hash of the value — the same
// record the library's adapter reads back (adapter.ts) for revocation.
import type { KeySnapshot } from '../keys/model.ts';
import { hashToken } from '../crypto/token-hash.ts';
import { newOpaqueToken } from '../crypto/opaque-token.ts';
import type { TokenBinding, TokenStore } from '../stores/tokens.ts';

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

/** `onMinted` learns of every token issued (last use, activity, metrics); it must not throw. */
export function createTokenMinter(tokens: Pick<TokenStore, 'save'>, onMinted: (key: KeySnapshot) => void = () => {}): TokenMinter {
  return async function mintToken(key, scopes, secretGeneration, binding) {
    const iat = Math.floor(Date.now() / 1000);
    // A token never outlives its key: extending an expired key must not bring its tokens back.
    const keyEnds = key.expiresAtMs === null ? Infinity : Math.floor(key.expiresAtMs / 1000);
    const exp = Math.min(iat + key.tokenTtlSeconds, keyEnds);
    const scope = scopes.join(' ');
    const cnf = boundTo(binding);
    const accessToken = newOpaqueToken();
    await tokens.save(hashToken(accessToken), { clientId: key.clientId, scope, iat, exp, generation: secretGeneration, epoch: key.tokenEpoch, cnf });
    onMinted(key);
    return { accessToken, expiresIn: exp - iat, expiresAt: new Date(exp * 1000), scope, tokenType: cnf?.jkt ? 'DPoP' : 'Bearer' };
  };
}

/** The binding as stored: only the thumbprints present, or none at all. */
function boundTo(binding: TokenBinding | undefined): TokenBinding | undefined {
  const jkt = binding?.jkt;
  const x5t = binding?.['x5t#S256'];
  if (jkt === undefined && x5t === undefined) return undefined;
  return { ...(jkt === undefined ? {} : { jkt }), ...(x5t === undefined ? {} : { 'x5t#S256': x5t }) };
}
