// Bearer tokens are opaque: 256 random bits as 43 base64url characters, the shape oidc-provider
// gives its own opaque tokens. Random bytes are drawn a pool at a time, as the library does: one
// call into the CSPRNG per 128 tokens instead of one per token.
import { randomFillSync } from 'node:crypto';

const TOKEN_BYTES = 32;
const pool = Buffer.allocUnsafe(TOKEN_BYTES * 128);
let offset = pool.length;

export function newOpaqueToken(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + TOKEN_BYTES);
  // The bytes handed out are overwritten at once, so no token stays readable in the pool.
  pool.fill(0, offset, offset + TOKEN_BYTES);
  offset += TOKEN_BYTES;
  return token;
}
