// The key service's inputs and outputs, apart from the service itself.
import type { PepperRing } from '../crypto/secret-hash.ts';
import type { KeyCounts } from '../stores/keys.ts';
import type { TokenStore } from '../stores/tokens.ts';
import type { AuditedChangeDeps, TxStores } from './audited-change.ts';
import type { KeyView, ListedKeyView } from './model.ts';
import type { KeyActivityStore } from '../stores/key-activity.ts';
import type { RoleScopes } from '../identity/roles.ts';

export interface KeyServiceDeps extends AuditedChangeDeps, TxStores {
  tokens: TokenStore;
  pepperRing: PepperRing;
  issuer: string;
  /** Token lifetime for keys created without one, seconds. */
  defaultTokenTtlSeconds: number;
  /** What each role holds: making a key that acts for a person takes the right to manage them. */
  roleScopes: RoleScopes;
  /** Per-key activity counts (the list's 7-day issuance); absent = none shown. */
  activity?: Pick<KeyActivityStore, 'read'>;
  /** User keys one person may hold at once; absent = KEY_LIMITS.maxKeysPerUser. */
  maxKeysPerUser?: number;
}

export interface KeyFile {
  client_id: string;
  client_secret: string;
  api_key: string;
  token_url: string;
  issuer: string;
  scopes: string[];
  expires_at: string | null;
}

/** Shown exactly once: only an HMAC of the secret is kept. */
export interface CreatedKey {
  key: KeyView;
  client_secret: string;
  api_key: string;
  key_file: KeyFile;
}

/** A key created with a JWKS or a TLS identity instead of a secret: nothing to show once. */
export interface CreatedCredentialKey {
  key: KeyView;
  key_file: Omit<KeyFile, 'client_secret' | 'api_key'> & { auth_method: KeyView['auth_method'] };
}

export interface KeyPage {
  data: ListedKeyView[];
  next_cursor: string | null;
  counts: KeyCounts;
}
