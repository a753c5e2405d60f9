// Every admin change is one transaction holding the change and its audit record, so there is never
// an unaudited change; key caches forget after commit, because any change to a key, a user or a
// tenant may alter the policy inputs of keys (its own, or of keys it created). The event a change
// raises (keys/events.ts) joins the outbox in the same transaction: no change goes untold and no
// event tells of a change that rolled back. Shared by the key, user, tenant and webhook services.
import type { AuditStore } from '../stores/audit.ts';
import type { KeyStore } from '../stores/keys.ts';
import type { OutboxStore } from '../stores/outbox.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { UserStore } from '../stores/users.ts';
import type { SetupLinkStore } from '../stores/setup-links.ts';
import type { ScopeCatalogueStore } from '../stores/scope-catalogue.ts';
import type { WebhookStore } from '../stores/webhooks.ts';
import type { EventScheduleStore } from '../stores/event-schedule.ts';
import type { TwoFactorStore } from '../stores/two-factor.ts';
import type { Authority } from './authority.ts';
import { eventTypeOfAction } from './events.ts';

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
  /** A person acting in an account below their own tenant: every record names it. */
  actingInTenantId?: string;
}

/** Stores bound to one transaction. */
export interface TxStores {
  keys: KeyStore;
  audit: AuditStore;
  users: UserStore;
  tenants: TenantStore;
  setupLinks: SetupLinkStore;
  scopeCatalogue: ScopeCatalogueStore;
  outbox: OutboxStore;
  webhooks: WebhookStore;
  schedule: EventScheduleStore;
  twoFactor: TwoFactorStore;
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
  /** Keys this change stops under the owner rule (their creator lost the right): each raises `key.stopped`. */
  stoppedKeys?: readonly string[];
  /** Keys of the record's tenant deleted along with the change's subject (a user's keys): each raises `key.deleted`. */
  deletedKeys?: readonly string[];
}

export type RecordChange = (record: ChangeRecord) => Promise<void>;

/** Runs `work` in one transaction with `record` to audit it there; caches forget after commit. */
export async function auditedChange<T>(deps: AuditedChangeDeps, actor: Actor, work: (tx: TxStores, record: RecordChange) => Promise<T>): Promise<T> {
  const result = await deps.transact((tx) =>
    work(tx, async (record) => {
      await tx.audit.record({
        action: record.action,
        outcome: 'success',
        tenantId: record.tenantId,
        actorKeyId: actor.keyId,
        actorUserId: actor.userId,
        targetKeyId: record.targetKeyId ?? null,
        ip: actor.ip ?? null,
        requestId: actor.requestId ?? null,
        details: { via: actor.via, ...(actor.actingInTenantId ? { acting_in_tenant_id: actor.actingInTenantId } : {}), ...record.details },
      });
      await raiseEvents(tx, actor, record);
    }),
  );
  deps.onKeysChanged?.('*');
  return result;
}

async function raiseEvents(tx: TxStores, actor: Actor, record: ChangeRecord): Promise<void> {
  const type = eventTypeOfAction(record.action);
  if (!type || record.tenantId === null) return;
  const by = { key_id: actor.keyId, user_id: actor.userId, via: actor.via };
  const subject = record.targetKeyId ? { client_id: record.targetKeyId } : {};
  await tx.outbox.addEvent({ type, tenantId: record.tenantId, data: { tenant_id: record.tenantId, ...subject, ...record.details, by } });
  for (const clientId of record.deletedKeys ?? []) {
    await tx.outbox.addEvent({
      type: 'key.deleted',
      tenantId: record.tenantId,
      data: { tenant_id: record.tenantId, client_id: clientId, cause: record.action, by },
    });
  }
  for (const clientId of record.stoppedKeys ?? []) {
    // A stopped key may lie in a tenant below the changed one: the event belongs to the key's own.
    const key = await tx.keys.find(clientId);
    if (!key) continue;
    await tx.outbox.addEvent({
      type: 'key.stopped',
      tenantId: key.tenant_id,
      data: { tenant_id: key.tenant_id, client_id: clientId, reason: 'owner_not_authorized', cause: record.action, by },
    });
  }
}
