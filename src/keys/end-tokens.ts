// Ending a key's live tokens, for good. The key's token epoch moves on in the caller's transaction,
// so every token minted before it commits is dead on every replica, even one minted from a stale
// cached copy of the key while the change was committing; a later enable, promotion or widening
// never revives them. The stored tokens are dropped too, to free their memory.
import type { TokenStore } from '../stores/tokens.ts';
import type { TxStores } from './audited-change.ts';

/** Returns how many stored tokens were dropped. */
export async function endLiveTokens(tx: Pick<TxStores, 'keys'>, tokens: TokenStore, clientIds: Iterable<string>): Promise<number> {
  const ids = [...new Set(clientIds)];
  await tx.keys.bumpTokenEpoch(ids);
  let dropped = 0;
  for (const clientId of ids) dropped += await tokens.destroyAllForKey(clientId);
  return dropped;
}
