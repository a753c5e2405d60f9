// POST /api/v1/tenant/token — the child-account key route of the console Keygate replaces: an
// automation holding a parent account's admin key creates an account key in one of its child
// accounts and gets its id and secret back. It is the key service's own create, with the caller
// as actor, so every rule of the admin API holds (the child's expiry policy, no key granting more
// than its creator holds, the audit record); only the vocabulary differs. The bearer token is
// checked exactly as the admin API checks it. A child outside the caller's subtree, its own
// tenant included, is 404 like an id that does not exist. The secret is in the answer only.
import type { Context } from 'koa';
import { z } from 'zod';
import { actorFor } from '../../../admin/actor.ts';
import { requireScope, type AdminCaller } from '../../../admin/auth.ts';
import { readJsonObject } from '../../../http/body.ts';
import { isUuid } from '../../../identity/ids.ts';
import type { Role, RoleScopes } from '../../../identity/roles.ts';
import { keygateScopesOfRole } from '../../../keys/authority.ts';
import { KEY_WRITE_SCOPE } from '../../../keys/model.ts';
import { KEY_LIMITS } from '../../../keys/schemas.ts';
import type { KeyService } from '../../../keys/service.ts';
import { KeygateError, type FieldError } from '../../../shared/errors.ts';
import { parseInput } from '../../../shared/validation.ts';
import type { TenantStore } from '../../../stores/tenants.ts';

export const TENANT_TOKEN_PATH = '/api/v1/tenant/token';

/** The role names this route takes (any letter case), and the Keygate role whose scopes each grants. */
export const COMPAT_ROLES: Readonly<Record<string, Role>> = Object.freeze({
  admin: 'admin',
  'read-write': 'manager',
  'read-only': 'viewer',
});

const roleName = z.string().min(1).max(64);

const TenantTokenBody = z.strictObject({
  appId: z.string().min(1).max(128).optional(),
  description: z.string().trim().min(1).max(KEY_LIMITS.nameMaxLength),
  expiration: z.string().min(1).max(64),
  role: roleName.optional(),
  roles: z.array(roleName).min(1).max(10).optional(),
  childTenantId: z.string().min(1).max(64),
});

// An ISO-8601 date (`2027-06-30`, the start of that day in UTC) or date and time; a time without
// an offset is UTC.
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/i;

export function parseExpiration(text: string): Date | undefined {
  const date = text.slice(0, 10);
  const [year, month, day] = date.split('-').map(Number);
  // Date() rolls 2027-02-30 over to March: the day must exist as written.
  const realDay = ISO_DATE.test(date) && new Date(Date.UTC(year!, month! - 1, day!)).toISOString().slice(0, 10) === date;
  if (!realDay) return undefined;
  if (ISO_DATE.test(text)) return new Date(`${text}T00:00:00Z`);
  if (!ISO_DATE_TIME.test(text)) return undefined;
  const at = new Date(/(Z|[+-]\d{2}:\d{2})$/i.test(text) ? text : `${text}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

const invalid = (field: string, message: string) => new KeygateError('validation_failed', 'request body is invalid', [{ field, message }]);

/** The Keygate scopes the requested roles grant together. */
function scopesOfRoles(names: string[], roleScopes: RoleScopes, field: string): string[] {
  const scopes = new Set<string>();
  for (const name of names) {
    const role = Object.hasOwn(COMPAT_ROLES, name.toLowerCase()) ? COMPAT_ROLES[name.toLowerCase()] : undefined;
    if (!role) throw invalid(field, `unknown role '${name.slice(0, 64)}': use ${Object.keys(COMPAT_ROLES).join(', ')}`);
    for (const scope of keygateScopesOfRole(roleScopes, role)) scopes.add(scope);
  }
  if (scopes.size === 0) throw invalid(field, 'these roles grant no scope here');
  return [...scopes];
}

// The key service names its own fields; the answer names the caller's.
const FIELD_NAMES: Record<string, string> = { expires_at: 'expiration', name: 'description', tenant_id: 'childTenantId' };

function inCallerTerms(error: unknown, rolesField: string): unknown {
  if (!(error instanceof KeygateError) || error.code !== 'validation_failed' || !error.details) return error;
  const details: FieldError[] = error.details.map((d) => ({ ...d, field: d.field === 'scopes' ? rolesField : (FIELD_NAMES[d.field] ?? d.field) }));
  return new KeygateError('validation_failed', error.message, details);
}

export interface TenantTokenDeps {
  authenticateBearer: (ctx: Context) => Promise<AdminCaller>;
  keyService: KeyService;
  tenants: TenantStore;
  roleScopes: RoleScopes;
}

export function createTenantTokenRoute(deps: TenantTokenDeps) {
  return async function createChildKey(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const caller = await deps.authenticateBearer(ctx);
    requireScope(ctx, caller, KEY_WRITE_SCOPE);
    if (caller.onlyUserId !== undefined) throw new KeygateError('forbidden', 'a user key cannot create account keys');
    const body = parseInput(TenantTokenBody, await readJsonObject(ctx));
    const expiresAt = parseExpiration(body.expiration);
    if (!expiresAt) throw invalid('expiration', 'must be an ISO-8601 date (2027-06-30) or date and time (2027-06-30T12:00:00Z)');
    if (body.role === undefined && body.roles === undefined) throw invalid('role', 'name a role (role or roles)');
    const rolesField = body.roles ? 'roles' : 'role';
    const scopes = [
      ...new Set([
        ...(body.role === undefined ? [] : scopesOfRoles([body.role], deps.roleScopes, 'role')),
        ...(body.roles === undefined ? [] : scopesOfRoles(body.roles, deps.roleScopes, 'roles')),
      ]),
    ];

    const child = body.childTenantId;
    const reachable = isUuid(child) && child !== caller.tenantId && (await deps.tenants.subtreeIds(caller.tenantId)).includes(child);
    if (!reachable) throw new KeygateError('not_found', 'no such child tenant');

    const actor = { ...(await actorFor(caller, deps.tenants)), via: 'checkpoint-compat' };
    const created = await deps.keyService
      .create(
        {
          tenant_id: child,
          kind: 'service',
          name: body.description,
          description: body.appId === undefined ? null : `app ${body.appId}`,
          scopes,
          expires_at: expiresAt.toISOString(),
        },
        actor,
      )
      .catch((error: unknown) => {
        throw inCallerTerms(error, rolesField);
      });
    ctx.status = 200;
    ctx.body = { clientId: created.key.client_id, accessKey: created.client_secret };
  };
}
