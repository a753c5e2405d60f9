// SQL for API keys. Rows become domain objects here so no caller sees a database row.
import { sql, type Selectable } from 'kysely';
import type { ApiKeysTable, Db } from './db.ts';
import { KEY_WRITE_SCOPE, type CreatorState, type KeyKind, type KeySnapshot, type KeyStatus, type KeyView } from '../keys/model.ts';
import { parseNetworkList } from '../oauth/policy/network.ts';
import { mayCreateKeys, userKeyScopes, type Role, type RoleScopes } from '../identity/roles.ts';

export type KeyRow = Selectable<ApiKeysTable>;

/** How far `ancestors` walks up a creator chain: past any chain the service lets exist. */
const MAX_CHAIN_WALK = 64;

/** Keys per usage UPDATE: bounds how many rows one statement locks. */
const USAGE_CHUNK = 5000;
export type NewKeyRow = Omit<KeyRow, 'status' | 'secret_generation' | 'token_epoch' | 'created_at' | 'updated_at' | 'last_used_at' | 'last_used_ip'>;

export interface KeyListFilter {
  tenantIds?: readonly string[];
  status?: KeyStatus | 'expired';
  kind?: KeyKind;
  userId?: string;
  /** Keys whose expiry falls within this many seconds from now. */
  expiringWithinSeconds?: number;
}

export interface KeyCursor {
  createdAt: Date;
  clientId: string;
}

export interface KeyCounts {
  total: number;
  active: number;
  disabled: number;
  expired: number;
  expiring_30d: number;
}

export type KeyPatch = Partial<Pick<KeyRow, 'name' | 'description' | 'scopes' | 'networks' | 'expires_at' | 'token_ttl_seconds' | 'rate_limit_per_minute'>>;

export interface KeyUsage {
  clientId: string;
  at: Date;
  ip: string | null;
}

function selectSnapshots(db: Db) {
  return db.selectFrom('api_keys as k')
    .innerJoin('tenants as t', 't.id', 'k.tenant_id')
    .leftJoin('users as ku', 'ku.id', 'k.user_id')
    .leftJoin('users as cu', 'cu.id', 'k.created_by_user_id')
    .leftJoin('api_keys as ck', 'ck.client_id', 'k.created_by_key_id')
    .select([
      'k.client_id', 'k.tenant_id', 'k.kind', 'k.user_id', 'k.scopes', 'k.networks', 'k.expires_at',
      'k.status', 'k.secret_hash', 'k.previous_secret_hash', 'k.previous_secret_expires_at', 'k.secret_generation', 'k.token_epoch',
      'k.token_ttl_seconds', 'k.rate_limit_per_minute', 'k.created_by_user_id', 'k.created_by_key_id',
      't.ancestors as tenant_ancestors',
      // A disabled tenant stops every tenant below it, at any depth.
      sql<boolean>`t.status = 'active' and not exists (select 1 from tenants a where a.id = any(t.ancestors) and a.status <> 'active')`.as('tenant_active'),
      'ku.status as user_status', 'ku.role as user_role',
      'cu.status as creator_user_status', 'cu.role as creator_user_role',
      'ck.status as creator_key_status', 'ck.scopes as creator_key_scopes',
    ]);
}

type SnapshotRow = Awaited<ReturnType<ReturnType<typeof selectSnapshots>['executeTakeFirstOrThrow']>>;

/** Tenant paths never change, and every key of a tenant shares one frozen copy of its path. */
function createPathInterner() {
  const paths = new Map<string, readonly string[]>();
  return (tenantId: string, ancestors: string[]): readonly string[] => {
    let path = paths.get(tenantId);
    if (!path) paths.set(tenantId, path = Object.freeze(ancestors));
    return path;
  };
}

function toSnapshot(row: SnapshotRow, roleScopes: RoleScopes, internPath: (tenantId: string, ancestors: string[]) => readonly string[]): KeySnapshot {
  const networks = parseNetworkList(row.networks);
  // Networks are validated on write; an unreadable one is corruption, never "any network".
  if (!networks.ok) throw new Error(`key ${row.client_id} has an unreadable network entry`);
  return {
    clientId: row.client_id,
    tenantId: row.tenant_id,
    tenantActive: row.tenant_active,
    tenantPath: internPath(row.tenant_id, row.tenant_ancestors),
    kind: row.kind,
    userId: row.user_id,
    userActive: row.kind === 'service' || row.user_status === 'active',
    scopes: row.scopes,
    effectiveScopes: row.kind === 'user' && row.user_role ? userKeyScopes(roleScopes, row.user_role, row.scopes) : row.scopes,
    networks: networks.networks,
    expiresAt: row.expires_at,
    status: row.status,
    secretHash: row.secret_hash,
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    secretGeneration: row.secret_generation,
    tokenEpoch: row.token_epoch,
    tokenTtlSeconds: row.token_ttl_seconds,
    rateLimitPerMinute: row.rate_limit_per_minute,
    creator: creatorState(row),
    createdByKeyId: row.created_by_key_id,
  };
}

export function createKeyStore(db: Db, roleScopes: RoleScopes) {
  const snapshotQuery = () => selectSnapshots(db);
  const internPath = createPathInterner();
  return {
    /** One query: the key, its tenant's state and its creator's state (SPEC §3 policy inputs). */
    async findSnapshot(clientId: string): Promise<KeySnapshot | undefined> {
      const row = await snapshotQuery().where('k.client_id', '=', clientId).executeTakeFirst();
      return row && toSnapshot(row, roleScopes, internPath);
    },

    /** Snapshots of every key in client_id order, a page at a time (for warming the key cache). */
    async listSnapshots(afterClientId: string | undefined, limit: number): Promise<KeySnapshot[]> {
      let query = snapshotQuery().orderBy('k.client_id').limit(limit);
      if (afterClientId !== undefined) query = query.where('k.client_id', '>', afterClientId);
      return (await query.execute()).map((row) => toSnapshot(row, roleScopes, internPath));
    },

    async insert(row: NewKeyRow): Promise<KeyView> {
      const inserted = await db.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow();
      return toView(inserted, new Date());
    },

    async findView(clientId: string, now: Date): Promise<KeyView | undefined> {
      const row = await db.selectFrom('api_keys').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      return row && toView(row, now);
    },

    /** Keys in creation order; `after` continues from the last key of a previous page. */
    async list(filter: KeyListFilter, now: Date, page: { after?: KeyCursor; limit?: number } = {}): Promise<KeyView[]> {
      if (filter.tenantIds?.length === 0) return [];
      let query = db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('client_id');
      if (filter.tenantIds) query = query.where('tenant_id', 'in', filter.tenantIds);
      if (filter.kind) query = query.where('kind', '=', filter.kind);
      if (filter.userId) query = query.where('user_id', '=', filter.userId);
      if (filter.status === 'expired') {
        query = query.where('expires_at', '<=', now);
      } else if (filter.status) {
        query = query.where('status', '=', filter.status)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
      }
      if (filter.expiringWithinSeconds !== undefined) {
        query = query.where('expires_at', '>', now)
          .where('expires_at', '<=', new Date(now.getTime() + filter.expiringWithinSeconds * 1000));
      }
      if (page.after) {
        const { createdAt, clientId } = page.after;
        query = query.where((eb) => eb.or([
          eb('created_at', '>', createdAt),
          eb.and([eb('created_at', '=', createdAt), eb('client_id', '>', clientId)]),
        ]));
      }
      if (page.limit) query = query.limit(page.limit);
      return (await query.execute()).map((row) => toView(row, now));
    },

    /** SPEC §5 `counts` over the given tenants (and only `userId`'s keys, when given), whatever the list filters. */
    async counts(tenantIds: readonly string[], now: Date, userId?: string): Promise<KeyCounts> {
      if (tenantIds.length === 0) return { total: 0, active: 0, disabled: 0, expired: 0, expiring_30d: 0 };
      const soon = new Date(now.getTime() + 30 * 86_400_000);
      const row = await db.selectFrom('api_keys')
        .select((eb) => [
          eb.fn.countAll<string>().as('total'),
          sql<string>`count(*) filter (where status = 'active' and (expires_at is null or expires_at > ${now}))`.as('active'),
          sql<string>`count(*) filter (where status = 'disabled' and (expires_at is null or expires_at > ${now}))`.as('disabled'),
          sql<string>`count(*) filter (where expires_at <= ${now})`.as('expired'),
          sql<string>`count(*) filter (where expires_at > ${now} and expires_at <= ${soon})`.as('expiring_30d'),
        ])
        .where('tenant_id', 'in', tenantIds)
        .$if(userId !== undefined, (q) => q.where('user_id', '=', userId!))
        .executeTakeFirstOrThrow();
      return {
        total: Number(row.total),
        active: Number(row.active),
        disabled: Number(row.disabled),
        expired: Number(row.expired),
        expiring_30d: Number(row.expiring_30d),
      };
    },

    /**
     * Applies the given columns; returns the row before and after, or undefined when absent.
     * Run it inside a transaction (the services do) so "before" is locked until commit.
     */
    async update(clientId: string, patch: KeyPatch): Promise<{ before: KeyRow; after: KeyRow } | undefined> {
      const before = await db.selectFrom('api_keys').selectAll().where('client_id', '=', clientId).forUpdate().executeTakeFirst();
      if (!before) return undefined;
      const after = await db.updateTable('api_keys').set({ ...patch, updated_at: sql<Date>`now()` })
        .where('client_id', '=', clientId).returningAll().executeTakeFirstOrThrow();
      return { before, after };
    },

    /** Replaces the secret; the old one stays valid until `previousExpiresAt` (null = not at all). */
    async rotateSecret(clientId: string, secretHash: string, previousExpiresAt: Date | null): Promise<KeyRow | undefined> {
      return db.updateTable('api_keys')
        .set((eb) => ({
          previous_secret_hash: previousExpiresAt ? eb.ref('secret_hash') : null,
          previous_secret_expires_at: previousExpiresAt,
          secret_hash: secretHash,
          secret_generation: eb('secret_generation', '+', 1),
          updated_at: sql<Date>`now()`,
        }))
        .where('client_id', '=', clientId)
        .returningAll()
        .executeTakeFirst();
    },

    /** One statement for a batch of sightings; an older sighting never overwrites a newer one. */
    async recordUsage(sightings: readonly KeyUsage[]): Promise<void> {
      // Three array parameters however many keys: a plan that costs the same every time (a VALUES
      // list of 3 × n parameters took Postgres longer to plan than to run), an index lookup per
      // key, and rows locked in client_id order so two replicas flushing at once cannot deadlock.
      const sorted = [...sightings].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
      for (let start = 0; start < sorted.length; start += USAGE_CHUNK) {
        const chunk = sorted.slice(start, start + USAGE_CHUNK);
        await sql`
          update api_keys set last_used_at = v.at, last_used_ip = v.ip
          from unnest(${chunk.map((s) => s.clientId)}::text[], ${chunk.map((s) => s.at.toISOString())}::timestamptz[], ${chunk.map((s) => s.ip)}::text[])
            as v(client_id, at, ip)
          where api_keys.client_id = v.client_id and (api_keys.last_used_at is null or api_keys.last_used_at < v.at)
        `.execute(db);
      }
    },

    /** Returns false when no such key exists. */
    async setStatus(clientId: string, status: KeyStatus): Promise<boolean> {
      const result = await db.updateTable('api_keys')
        .set({ status, updated_at: sql<Date>`now()` })
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async delete(clientId: string): Promise<boolean> {
      const result = await db.deleteFrom('api_keys').where('client_id', '=', clientId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    /** The user keys acting for `userId`, with the scopes and networks each was given. */
    async scopesOfUserKeys(userId: string): Promise<{ clientId: string; scopes: string[]; networks: string[] }[]> {
      const rows = await db.selectFrom('api_keys').select(['client_id', 'scopes', 'networks']).where('user_id', '=', userId).execute();
      return rows.map((row) => ({ clientId: row.client_id, scopes: row.scopes, networks: row.networks }));
    },

    /** client_ids of the user keys acting for `userId`. */
    async idsForUser(userId: string): Promise<string[]> {
      return (await db.selectFrom('api_keys').select('client_id').where('user_id', '=', userId).execute()).map((r) => r.client_id);
    },

    async idsForTenants(tenantIds: readonly string[]): Promise<string[]> {
      if (tenantIds.length === 0) return [];
      return (await db.selectFrom('api_keys').select('client_id').where('tenant_id', 'in', tenantIds).execute()).map((r) => r.client_id);
    },

    /**
     * Every key created, directly or down a chain of keys, by the given keys or by the given user:
     * the keys that stop with them under the owner rule.
     */
    async descendants(creators: { keyIds?: readonly string[]; userId?: string }): Promise<Pick<KeyRow, 'client_id' | 'scopes' | 'networks'>[]> {
      const keyIds = [...(creators.keyIds ?? [])];
      if (keyIds.length === 0 && creators.userId === undefined) return [];
      const rows = await sql<Pick<KeyRow, 'client_id' | 'scopes' | 'networks'>>`
        with recursive made(client_id) as (
          select client_id from api_keys
          where created_by_key_id = any(${keyIds}::text[]) or created_by_user_id = ${creators.userId ?? null}::uuid
          union
          select k.client_id from api_keys k join made on k.created_by_key_id = made.client_id
        )
        select k.client_id, k.scopes, k.networks from made join api_keys k using (client_id)`.execute(db);
      return rows.rows;
    },

    /** The keys above this one in its creator chain, nearest first (bounded: chains are refused deeper). */
    async ancestors(clientId: string): Promise<Pick<KeyRow, 'client_id' | 'scopes' | 'networks'>[]> {
      const rows = await sql<Pick<KeyRow, 'client_id' | 'scopes' | 'networks'>>`
        with recursive up(client_id, created_by_key_id, depth) as (
          select client_id, created_by_key_id, 0 from api_keys where client_id = ${clientId}
          union all
          select k.client_id, k.created_by_key_id, up.depth + 1 from api_keys k join up on k.client_id = up.created_by_key_id
          where up.depth < ${MAX_CHAIN_WALK}
        )
        select k.client_id, k.scopes, k.networks from up join api_keys k using (client_id) where up.depth > 0 order by up.depth`.execute(db);
      return rows.rows;
    },

    /** Ends every live token of these keys: tokens minted in an earlier epoch are never honoured. */
    async bumpTokenEpoch(clientIds: readonly string[]): Promise<void> {
      if (clientIds.length === 0) return;
      await db.updateTable('api_keys').set((eb) => ({ token_epoch: eb('token_epoch', '+', 1) }))
        .where('client_id', 'in', clientIds).execute();
    },

    async countForUser(userId: string): Promise<number> {
      const row = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n'))
        .where('user_id', '=', userId).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

export type KeyStore = ReturnType<typeof createKeyStore>;

interface CreatorColumns {
  created_by_user_id: string | null;
  created_by_key_id: string | null;
  creator_user_status: string | null;
  creator_user_role: Role | null;
  creator_key_status: string | null;
  creator_key_scopes: string[] | null;
}

/**
 * A key created through the admin API depends on its creators keeping the right to create keys:
 * the person (deleted, disabled or demoted below manager = no longer allowed), and the key that
 * made it (still there, not disabled, still holding admin:keys:write). A user key acting records
 * both. A creating key's expiry is not a loss of rights (an expiring bootstrap key must not take
 * every key it made down with it).
 */
function creatorState(row: CreatorColumns): CreatorState {
  const states: CreatorState[] = [];
  if (row.created_by_user_id) {
    states.push(row.creator_user_status === null ? 'missing'
      : row.creator_user_status === 'active' && mayCreateKeys(row.creator_user_role!) ? 'active' : 'inactive');
  }
  if (row.created_by_key_id) {
    states.push(row.creator_key_status === null ? 'missing'
      : row.creator_key_status === 'active' && (row.creator_key_scopes ?? []).includes(KEY_WRITE_SCOPE) ? 'active' : 'inactive');
  }
  return states.find((state) => state !== 'active') ?? (states.length > 0 ? 'active' : 'system');
}

export function toView(row: KeyRow, now: Date): KeyView {
  const expired = row.expires_at !== null && row.expires_at.getTime() <= now.getTime();
  return {
    client_id: row.client_id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    tenant_id: row.tenant_id,
    user_id: row.user_id,
    scopes: row.scopes,
    networks: row.networks,
    expires_at: row.expires_at?.toISOString() ?? null,
    status: expired ? 'expired' : row.status,
    token_ttl_seconds: row.token_ttl_seconds,
    rate_limit_per_minute: row.rate_limit_per_minute,
    created_by: row.created_by_user_id ?? row.created_by_key_id ?? 'system',
    created_at: row.created_at.toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    last_used_ip: row.last_used_ip,
  };
}
