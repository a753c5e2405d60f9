// Every admin change is one transaction holding the change and its audit record, so there is never
// an unaudited change; key caches forget after commit, because any change to a key, a user or a
// tenant may alter the policy inputs of keys (its own, or of keys it created). Shared by the key,
// user and tenant services.
import type { AuditStore } from '../stores/audit.ts';
import type { KeyStore } from '../stores/keys.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { UserStore } from '../stores/users.ts';
import type { SetupLinkStore } from '../stores/setup-links.ts';
import type { ScopeCatalogueStore } from '../stores/scope-catalogue.ts';
import type { Authority } from './authority.ts';

/** Who is acting, for `created_by`, the audit log and tenant boundaries. */
export interface Actor {
  keyId: string | null;
  userId: string | null;
  /** `cli`, `bootstrap`, `admin-api`, `console` or `test`. */
  via: string;
  /** Tenants this actor may touch; undefined = every tenant (the CLI runs with database rights). */
  tenantIds?: readonly string[];
  /** A user key acting: it may manage only keys of its own user (never other users' keys). */
  onlyUserId?: string;
  /** What the acting key holds (authority.ts); undefined for the operator's CLI and bootstrap. */
  authority?: Authority;
  ip?: string | null;
  requestId?: string | null;
}

/** Stores bound to one transaction. */
export interface TxStores {
  keys: KeyStore;
  audit: AuditStore;
  users: UserStore;
  tenants: TenantStore;
  setupLinks: SetupLinkStore;
  scopeCatalogue: ScopeCatalogueStore;
}

export type Transact = <T>(work: (tx: TxStores) => Promise<T>) => Promise<T>;

export interface AuditedChangeDeps {
  /** Runs `work` in one database transaction: a change and its audit record commit together. */
  transact: Transact;
  /** Told after every change, so this process's key cache forgets at once ('*' = every key). */
  onKeysChanged?: (clientId: string) => void;
}

/** What one change records in the audit log (who, from where and when come from the actor). */
export interface ChangeRecord {
  action: string;
  tenantId: string | null;
  targetKeyId?: string | null;
  details?: Record<string, unknown>;
}

export type RecordChange = (record: ChangeRecord) => Promise<void>;

/** Runs `work` in one transaction with `record` to audit it there; caches forget after commit. */
export async function auditedChange<T>(deps: AuditedChangeDeps, actor: Actor, work: (tx: TxStores, record: RecordChange) => Promise<T>): Promise<T> {
  const result = await deps.transact((tx) =>
    work(tx, (record) =>
      tx.audit.record({
        action: record.action,
        outcome: 'success',
        tenantId: record.tenantId,
        actorKeyId: actor.keyId,
        actorUserId: actor.userId,
        targetKeyId: record.targetKeyId ?? null,
        ip: actor.ip ?? null,
        requestId: actor.requestId ?? null,
        details: { via: actor.via, ...record.details },
      }),
    ),
  );
  deps.onKeysChanged?.('*');
  return result;
}
