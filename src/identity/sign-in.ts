// Checking a person's email and password. Every attempt costs the same: an email with no account
// (or no password yet) is checked against a dummy hash, and a wrong password, a disabled user and
// a disabled tenant all fail the same way after the same work. One email may name users in several
// tenants: each is checked, and the first (oldest) whose password matches signs in.
import type { TenantStore } from '../stores/tenants.ts';
import type { User, UserStore } from '../stores/users.ts';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './passwords.ts';

export type SignInCheck =
  | { ok: true; user: User }
  /** `concerning`: the account the email names, if any (for the audit log, never the caller). */
  | { ok: false; concerning: User | undefined };

export function createSignInCheck(deps: { users: UserStore; tenants: TenantStore }) {
  return async function checkSignIn(email: string, password: string): Promise<SignInCheck> {
    const candidates = await deps.users.findSignInCandidates(email);
    if (candidates.length === 0) {
      await verifyPassword(DUMMY_PASSWORD_HASH, password);
      return { ok: false, concerning: undefined };
    }
    const matches = await Promise.all(candidates.map((user) => verifyPassword(user.password_hash!, password)));
    const matched = candidates.filter((_, i) => matches[i]);
    for (const user of matched) {
      if (user.status !== 'active') continue;
      const path = await deps.tenants.pathTo(user.tenant_id);
      if (path.length > 0 && path.every((tenant) => tenant.status === 'active')) return { ok: true, user };
    }
    return { ok: false, concerning: matched[0] ?? candidates[0] };
  };
}

export type SignInCheckFn = ReturnType<typeof createSignInCheck>;
