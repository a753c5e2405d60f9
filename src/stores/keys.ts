// SQL for API keys: rows in, rows out. What a row means (a key's policy state, its API view) is
// decided in keys/, above this file.
import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import type { ApiKeyLastUseTable, ApiKeysTable, Database, Db } from './db.ts';
import { recordKeyUsage, type KeyUsage } from './key-last-use.ts';

/** A key's last use, kept in a table of its own (api_key_last_use). */
export type KeyLastUse = Omit<Selectable<ApiKeyLastUseTable>, 'client_id'>;

/** A key as stored, with its last use. */
export type KeyRow = Selectable<ApiKeysTable> & KeyLastUse;

export type NewKeyRow = Omit<Selectable<ApiKeysTable>, 'status' | 'secret_generation' | 'token_epoch' | 'created_at' | 'updated_at'>;

/** The columns that say how a key authenticates. */
export type KeyCredentialColumns = Pick<KeyRow, 'auth_method' | 'public_jwks' | 'tls_subject_dn' | 'tls_san_dns' | 'tls_certificate' | 'dpop_required'>;

export interface KeyListFilter {
  tenantIds?: readonly string[];
  status?: 'active' | 'disabled' | 'expired';
  kind?: 'service' | 'user';
  userId?: string;
  /** Keys whose expiry falls within this many seconds from now. */
  expiringWithinSeconds?: number;
  /** Leave out expired keys. */
  notExpired?: boolean;
  /** Name contains it (any case), or client_id starts with it. */
  q?: string;
  /**
   * The caller sees only this user's keys (a user key, a member's session): a creator is then
   * named only when it is that user or one of that user's keys, as in the audit log's labels.
   */
  labelsOnlyFor?: string;
}

export type KeySortField = 'name' | 'created_at' | 'expires_at' | 'last_used_at';

export interface KeySort {
  field: KeySortField;
  descending: boolean;
}

/** Where a page ended: the last key's sort value (text; null when it has none) and its client_id. */
export interface KeyCursor {
  value: string | null;
  clientId: string;
}

/** A key row with what a list shows beside it: its user's email and its creator's label. */
export type ListedKeyRow = KeyRow & {
  user_email: string | null;
  creator_user_email: string | null;
  creator_key_name: string | null;
  /** The row's value for the list's sort (what a cursor carries): lower-case name, or UTC time to the microsecond. */
  sort_value: string | null;
};

export interface KeyCounts {
  total: number;
  active: number;
  disabled: number;
  expired: number;
  expiring_30d: number;
}

export type KeyPatch = Partial<
  Pick<
    KeyRow,
    | 'name'
    | 'description'
    | 'scopes'
    | 'networks'
    | 'expires_at'
    | 'token_ttl_seconds'
    | 'rate_limit_per_minute'
    | 'secret_hash'
    | 'previous_secret_hash'
    | 'previous_secret_expires_at'
  > &
    KeyCredentialColumns
>;

/**
 * The sort expressions; name sorts without regard to case, as people read a list. Keys without
 * a value (never expires, never used) come last in both directions; each order has an index that
 * yields it directly (see the scope-catalogue migration; last use's are on api_key_last_use, see
 * the move-last-use migration), so a page reads about a page of rows.
 */
const SORT_COLUMNS = {
  name: { table: 'k', nullable: false },
  created_at: { table: 'k', nullable: false },
  expires_at: { table: 'k', nullable: true },
  last_used_at: { table: 'u', nullable: true },
} as const satisfies Record<KeySortField, { table: 'k' | 'u'; nullable: boolean }>;

/**
 * A sort's value in a query where `table` holds the column: api_keys (k) or api_key_last_use (u)
 * while a page is chosen, the page itself (k) once chosen.
 */
function sortExpression(field: KeySortField, table: 'k' | 'u') {
  const column = sql.ref(`${table}.${field}`);
  return field === 'name' ? sql<string | null>`lower(${column})` : sql<Date | null>`${column}`;
}

/** ORDER BY for a sort; a column that is never null takes no NULLS clause, so a backward index scan matches. */
function orderFor(sort: KeySort, table: 'k' | 'u') {
  const expression = sortExpression(sort.field, table);
  const direction = sql.raw(sort.descending ? 'desc' : 'asc');
  const byValue = SORT_COLUMNS[sort.field].nullable ? sql`${expression} ${direction} nulls last` : sql`${expression} ${direction}`;
  return [byValue, sql`k.client_id ${direction}`] as const;
}

/** A key's last use beside an api_keys row being returned (the `returning` of an insert or update). */
function lastUseOf(eb: ExpressionBuilder<Database, 'api_keys'>) {
  const ofThisKey = eb.selectFrom('api_key_last_use as u').whereRef('u.client_id', '=', 'api_keys.client_id');
  return [ofThisKey.select('u.last_used_at').as('last_used_at'), ofThisKey.select('u.last_used_ip').as('last_used_ip')];
}

function selectKeyStates(db: Db) {
  return db
    .selectFrom('api_keys as k')
    .innerJoin('tenants as t', 't.id', 'k.tenant_id')
    .leftJoin('users as ku', 'ku.id', 'k.user_id')
    .leftJoin('users as cu', 'cu.id', 'k.created_by_user_id')
    .leftJoin('api_keys as ck', 'ck.client_id', 'k.created_by_key_id')
    .select([
      'k.client_id',
      'k.tenant_id',
      'k.kind',
      'k.user_id',
      'k.scopes',
      'k.networks',
      'k.expires_at',
      'k.status',
      'k.secret_hash',
      'k.previous_secret_hash',
      'k.previous_secret_expires_at',
      'k.secret_generation',
      'k.token_epoch',
      'k.token_ttl_seconds',
      'k.rate_limit_per_minute',
      'k.created_by_user_id',
      'k.created_by_key_id',
      'k.auth_method',
      'k.public_jwks',
      'k.tls_subject_dn',
      'k.tls_san_dns',
      'k.tls_certificate',
      'k.dpop_required',
      't.ancestors as tenant_ancestors',
      // A disabled tenant stops every tenant below it, at any depth.
      sql<boolean>`t.status = 'active' and not exists (select 1 from tenants a where a.id = any(t.ancestors) and a.status <> 'active')`.as('tenant_active'),
      'ku.status as user_status',
      'ku.role as user_role',
      'cu.status as creator_user_status',
      'cu.role as creator_user_role',
      'ck.status as creator_key_status',
      'ck.scopes as creator_key_scopes',
    ]);
}

/** One key with everything its policy depends on: its tenant's, user's and creators' state. */
export type KeyStateRow = Awaited<ReturnType<ReturnType<typeof selectKeyStates>['executeTakeFirstOrThrow']>>;

export function createKeyStore(db: Db) {
  return {
    /** One query for the given keys: each key, its tenant's state, its user's and its creators' (the policy inputs); keys that do not exist are not in the answer. */
    async findStates(clientIds: readonly string[]): Promise<KeyStateRow[]> {
      if (clientIds.length === 0) return [];
      return selectKeyStates(db)
        .where('k.client_id', '=', sql<string>`any(${[...clientIds]}::text[])`)
        .execute();
    },

    /** The state of every key in client_id order, a page at a time (for warming the key cache). */
    async listStates(afterClientId: string | undefined, limit: number): Promise<KeyStateRow[]> {
      let query = selectKeyStates(db).orderBy('k.client_id').limit(limit);
      if (afterClientId !== undefined) query = query.where('k.client_id', '>', afterClientId);
      return query.execute();
    },

    async insert(row: NewKeyRow): Promise<KeyRow> {
      // A new key has not been used; its (empty) last-use row is made by the insert trigger.
      const inserted = await db.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow();
      return { ...inserted, last_used_at: null, last_used_ip: null };
    },

    async find(clientId: string): Promise<KeyRow | undefined> {
      return db
        .selectFrom('api_keys as k')
        .leftJoin('api_key_last_use as u', 'u.client_id', 'k.client_id')
        .selectAll('k')
        .select(['u.last_used_at', 'u.last_used_ip'])
        .where('k.client_id', '=', clientId)
        .executeTakeFirst();
    },

    /**
     * One page of keys in `sort` order, client_id breaking ties; keys without the sort value
     * (never expires, never used) come last in either direction. `after` continues from the last
     * key of a previous page.
     */
    async list(filter: KeyListFilter, now: Date, page: { sort: KeySort; after?: KeyCursor; limit?: number }): Promise<ListedKeyRow[]> {
      if (filter.tenantIds?.length === 0) return [];
      const { sort } = page;
      const column = sortExpression(sort.field, SORT_COLUMNS[sort.field].table);
      const [byValue, byClientId] = orderFor(sort, SORT_COLUMNS[sort.field].table);
      // The page is chosen on api_keys and last use alone (every key has its last-use row); only
      // its rows are then joined to their labels.
      let query = db
        .selectFrom('api_keys as k')
        .innerJoin('api_key_last_use as u', 'u.client_id', 'k.client_id')
        .selectAll('k')
        .select(['u.last_used_at', 'u.last_used_ip'])
        .orderBy(byValue)
        .orderBy(byClientId);
      if (filter.tenantIds) query = query.where('k.tenant_id', 'in', filter.tenantIds);
      if (filter.kind) query = query.where('k.kind', '=', filter.kind);
      if (filter.userId) query = query.where('k.user_id', '=', filter.userId);
      if (filter.status === 'expired') {
        query = query.where('k.expires_at', '<=', now);
      } else if (filter.status) {
        query = query.where('k.status', '=', filter.status).where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', now)]));
      }
      if (filter.notExpired) query = query.where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', now)]));
      if (filter.expiringWithinSeconds !== undefined) {
        query = query.where('k.expires_at', '>', now).where('k.expires_at', '<=', new Date(now.getTime() + filter.expiringWithinSeconds * 1000));
      }
      if (filter.q) {
        const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        query = query.where(sql<boolean>`(k.name ilike ${pattern} or left(k.client_id, ${filter.q.length}) = ${filter.q})`);
      }
      if (page.after) {
        const { value, clientId } = page.after;
        const beyond = sort.descending ? sql.raw('<') : sql.raw('>');
        const typed = sort.field === 'name' ? sql`${value}::text` : sql`${value}::timestamptz`;
        query = query.where(
          value === null
            ? sql<boolean>`(${column} is null and k.client_id ${beyond} ${clientId})`
            : sql<boolean>`(${column} is null or ${column} ${beyond} ${typed} or (${column} = ${typed} and k.client_id ${beyond} ${clientId}))`,
        );
      }
      if (page.limit) query = query.limit(page.limit);
      const pageColumn = sortExpression(sort.field, 'k');
      const [pageByValue, pageByClientId] = orderFor(sort, 'k');
      // A creator outside the caller's tenants stays unnamed: a parent's people and keys are not
      // the child's to learn. Nor, to a caller who sees only one user's keys, is anyone else.
      const { labelsOnlyFor } = filter;
      return db
        .selectFrom(query.as('k'))
        .leftJoin('users as ku', 'ku.id', 'k.user_id')
        .leftJoin('users as cu', (join) => {
          let on = join.onRef('cu.id', '=', 'k.created_by_user_id');
          if (filter.tenantIds) on = on.on('cu.tenant_id', 'in', filter.tenantIds);
          return labelsOnlyFor === undefined ? on : on.on('cu.id', '=', labelsOnlyFor);
        })
        .leftJoin('api_keys as ck', (join) => {
          let on = join.onRef('ck.client_id', '=', 'k.created_by_key_id');
          if (filter.tenantIds) on = on.on('ck.tenant_id', 'in', filter.tenantIds);
          return labelsOnlyFor === undefined ? on : on.on('ck.user_id', '=', labelsOnlyFor);
        })
        .selectAll('k')
        .select(['ku.email as user_email', 'cu.email as creator_user_email', 'ck.name as creator_key_name'])
        .select(
          (sort.field === 'name'
            ? sql<string | null>`${pageColumn}`
            : sql<string | null>`to_char(${pageColumn} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
          ).as('sort_value'),
        )
        .orderBy(pageByValue)
        .orderBy(pageByClientId)
        .execute();
    },

    /** `counts` over the given tenants (and only `userId`'s keys, when given), whatever the list filters. */
    async counts(tenantIds: readonly string[], now: Date, userId?: string): Promise<KeyCounts> {
      if (tenantIds.length === 0) return { total: 0, active: 0, disabled: 0, expired: 0, expiring_30d: 0 };
      const soon = new Date(now.getTime() + 30 * 86_400_000);
      const row = await db
        .selectFrom('api_keys')
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
      // Only the key row is locked: a usage flush writing its last use is not held up.
      const before = await db
        .selectFrom('api_keys as k')
        .leftJoin('api_key_last_use as u', 'u.client_id', 'k.client_id')
        .selectAll('k')
        .select(['u.last_used_at', 'u.last_used_ip'])
        .where('k.client_id', '=', clientId)
        .forUpdate('k')
        .executeTakeFirst();
      if (!before) return undefined;
      const after = await db
        .updateTable('api_keys')
        .set({ ...patch, updated_at: sql<Date>`now()` })
        .where('client_id', '=', clientId)
        .returningAll()
        .returning(lastUseOf)
        .executeTakeFirstOrThrow();
      return { before, after };
    },

    /** Replaces the secret; the old one stays valid until `previousExpiresAt` (null = not at all). */
    async rotateSecret(clientId: string, secretHash: string, previousExpiresAt: Date | null): Promise<KeyRow | undefined> {
      return db
        .updateTable('api_keys')
        .set((eb) => ({
          previous_secret_hash: previousExpiresAt ? eb.ref('secret_hash') : null,
          previous_secret_expires_at: previousExpiresAt,
          secret_hash: secretHash,
          secret_generation: eb('secret_generation', '+', 1),
          updated_at: sql<Date>`now()`,
        }))
        .where('client_id', '=', clientId)
        .returningAll()
        .returning(lastUseOf)
        .executeTakeFirst();
    },

    /** Writes a batch of last-use sightings; returns the keys whose row names a newer use from another address (key-last-use.ts). */
    recordUsage(sightings: readonly KeyUsage[], unchangedWithinMs = 0): Promise<string[]> {
      return recordKeyUsage(db, sightings, unchangedWithinMs);
    },

    /** Returns false when no such key exists. */
    async setStatus(clientId: string, status: 'active' | 'disabled'): Promise<boolean> {
      const result = await db.updateTable('api_keys').set({ status, updated_at: sql<Date>`now()` }).where('client_id', '=', clientId).executeTakeFirst();
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

    /** Names of the given keys, in client_id order (what a dialog lists before a change). */
    async namesOf(clientIds: readonly string[]): Promise<{ client_id: string; name: string }[]> {
      if (clientIds.length === 0) return [];
      return db
        .selectFrom('api_keys')
        .select(['client_id', 'name'])
        .where('client_id', 'in', [...clientIds])
        .orderBy('client_id')
        .execute();
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

    /** The keys above this one in its creator chain, nearest first, at most `maxDepth` of them. */
    async ancestors(clientId: string, maxDepth: number): Promise<Pick<KeyRow, 'client_id' | 'scopes' | 'networks'>[]> {
      const rows = await sql<Pick<KeyRow, 'client_id' | 'scopes' | 'networks'>>`
        with recursive up(client_id, created_by_key_id, depth) as (
          select client_id, created_by_key_id, 0 from api_keys where client_id = ${clientId}
          union all
          select k.client_id, k.created_by_key_id, up.depth + 1 from api_keys k join up on k.client_id = up.created_by_key_id
          where up.depth < ${maxDepth}
        )
        select k.client_id, k.scopes, k.networks from up join api_keys k using (client_id) where up.depth > 0 order by up.depth`.execute(db);
      return rows.rows;
    },

    /** Ends every live token of these keys: tokens minted in an earlier epoch are never honoured. */
    async bumpTokenEpoch(clientIds: readonly string[]): Promise<void> {
      if (clientIds.length === 0) return;
      await db
        .updateTable('api_keys')
        .set((eb) => ({ token_epoch: eb('token_epoch', '+', 1) }))
        .where('client_id', 'in', clientIds)
        .execute();
    },

    async countForUser(userId: string): Promise<number> {
      const row = await db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

export type KeyStore = ReturnType<typeof createKeyStore>;
