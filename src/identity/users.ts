// Users (SPEC §1): people in a tenant with a role. No interactive login: managed here through
// the admin API. A role change applies to the user's keys at their next token or introspection;
// disabling or deleting a user stops their user keys and every key they created.
import { ApiError } from '../http/errors.ts';
import type { Actor } from '../keys/service.ts';
import type { AuditStore } from '../stores/audit.ts';
import type { KeyStore } from '../stores/keys.ts';
import type { TokenStore } from '../stores/tokens.ts';
import type { Role, User, UserStore } from '../stores/users.ts';

export interface UserView {
  id: string;
  tenant_id: string;
  email: string;
  name: string | null;
  role: Role;
  status: 'active' | 'disabled';
  created_at: string;
  updated_at: string;
}

const toUserView = (u: User): UserView => ({
  id: u.id, tenant_id: u.tenant_id, email: u.email, name: u.name, role: u.role, status: u.status,
  created_at: u.created_at.toISOString(), updated_at: new Date(u.updated_at).toISOString(),
});

export function createUserService(deps: { users: UserStore; keys: KeyStore; tokens: TokenStore; audit: AuditStore; onKeysChanged?: (clientId: string) => void }) {
  async function record(action: string, actor: Actor, user: Pick<User, 'id' | 'tenant_id'>, details: Record<string, unknown> = {}) {
    deps.onKeysChanged?.('*');
    await deps.audit.record({
      action, outcome: 'success', tenantId: user.tenant_id, actorKeyId: actor.keyId, actorUserId: actor.userId,
      ip: actor.ip ?? null, requestId: actor.requestId ?? null, details: { via: actor.via, user_id: user.id, ...details },
    });
  }

  async function requireUser(id: string, actor: Actor): Promise<User> {
    const user = /^[0-9a-f-]{36}$/i.test(id) ? await deps.users.findById(id) : undefined;
    if (!user || (actor.tenantIds && !actor.tenantIds.includes(user.tenant_id))) throw new ApiError('not_found', 'no such user');
    return user;
  }

  return {
    async create(input: { tenantId: string; email: string; name?: string | null; role: Role }, actor: Actor): Promise<UserView> {
      if (actor.tenantIds && !actor.tenantIds.includes(input.tenantId)) {
        throw new ApiError('validation_failed', 'request body is invalid', [{ field: 'tenant_id', message: 'no such tenant' }]);
      }
      const user = await deps.users.insert(input);
      if (!user) throw new ApiError('conflict', 'a user with this email already exists in the tenant');
      await record('user.create', actor, user, { role: user.role });
      return toUserView(user);
    },
    async list(actor: Actor, tenantIds: readonly string[]): Promise<UserView[]> {
      return (await deps.users.list(tenantIds)).map(toUserView);
    },
    async show(id: string, actor: Actor): Promise<UserView> {
      return toUserView(await requireUser(id, actor));
    },
    async update(id: string, patch: { name?: string | null; role?: Role }, actor: Actor): Promise<UserView> {
      const before = await requireUser(id, actor);
      const after = (await deps.users.update(id, patch))!;
      await record('user.update', actor, after, {
        fields: Object.keys(patch),
        ...(patch.role && patch.role !== before.role ? { role_from: before.role, role_to: patch.role } : {}),
      });
      return toUserView(after);
    },
    async setStatus(id: string, status: 'active' | 'disabled', actor: Actor): Promise<UserView> {
      const user = await requireUser(id, actor);
      await deps.users.setStatus(id, status);
      await record(status === 'disabled' ? 'user.disable' : 'user.enable', actor, user);
      return toUserView((await deps.users.findById(id))!);
    },
    /** Deletes the user and their user keys (dropping those keys' tokens first). */
    async delete(id: string, actor: Actor): Promise<void> {
      const user = await requireUser(id, actor);
      const keyIds = await deps.keys.idsForUser(id);
      for (const clientId of keyIds) await deps.tokens.destroyAllForKey(clientId);
      await deps.users.delete(id);
      await record('user.delete', actor, user, { keys_deleted: keyIds });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
