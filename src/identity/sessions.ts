// Console sessions: opened by a sign-in, ended by sign-out, by 30 idle minutes or 12 hours in all
// (configurable), and at once when the user is disabled or deleted, their tenant (or one above it)
// is disabled, or their password changes. Every use reads the user's row again, so a role change
// applies to the next request. The id is 256 random bits; only its hash is stored.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hashToken } from '../crypto/token-hash.ts';
import type { SessionRecord, SessionStore } from '../stores/sessions.ts';
import type { Tenant, TenantStore } from '../stores/tenants.ts';
import type { User, UserStore } from '../stores/users.ts';
import { twoFactorRequiredFor } from './tenant-policy.ts';

export interface SessionSettings {
  idleSeconds: number;
  maxSeconds: number;
}

export interface SessionTimes {
  idleExpiresAt: Date;
  expiresAt: Date;
}

export interface OpenedSession extends SessionTimes {
  /** The cookie value: shown to the browser once, never stored. */
  id: string;
  csrfToken: string;
}

export interface SignedIn extends SessionTimes {
  user: User;
  tenant: Tenant;
  csrfToken: string;
  /** When the session was opened (a sign-in). */
  signedInAt: Date;
  /**
   * Two-factor is required of this person (their role, their tenant or one above it) and they
   * have none yet: the session may only enrol, sign out and say who it is (admin/session-auth.ts).
   */
  enrolmentOnly: boolean;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const randomToken = () => randomBytes(32).toString('base64url');
const stampOf = (passwordHash: string) => hashToken(passwordHash);

export function createSessions(deps: {
  store: SessionStore;
  users: UserStore;
  tenants: TenantStore;
  settings: SessionSettings;
  /** Whether the user has two-factor on; read only for those it is required of. */
  twoFactorEnabled?: (userId: string) => Promise<boolean>;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const { idleSeconds, maxSeconds } = deps.settings;
  const timesOf = (record: SessionRecord) => {
    const expiresAt = record.createdAt + maxSeconds * 1000;
    return { idleExpiresAt: Math.min(record.lastSeenAt + idleSeconds * 1000, expiresAt), expiresAt };
  };
  const asDates = (times: { idleExpiresAt: number; expiresAt: number }): SessionTimes => ({
    idleExpiresAt: new Date(times.idleExpiresAt),
    expiresAt: new Date(times.expiresAt),
  });

  return {
    /** Opens a session for a user who has just proved their password. */
    async start(user: Pick<User, 'id' | 'password_hash'>): Promise<OpenedSession> {
      const id = randomToken();
      const at = now();
      const record: SessionRecord = {
        userId: user.id,
        csrfToken: randomToken(),
        createdAt: at,
        lastSeenAt: at,
        passwordStamp: stampOf(user.password_hash ?? ''),
      };
      const times = timesOf(record);
      await deps.store.save(hashToken(id), record, times.idleExpiresAt);
      return { id, csrfToken: record.csrfToken, ...asDates(times) };
    },

    /** The signed-in user behind `id`, now, and the session's idle end moved forward; or undefined. */
    async resume(id: string): Promise<SignedIn | undefined> {
      if (!SESSION_ID.test(id)) return undefined;
      const idHash = hashToken(id);
      const record = await deps.store.find(idHash);
      if (!record) return undefined;
      const at = now();
      const ended = async () => {
        await deps.store.destroy(idHash);
        return undefined;
      };
      if (at >= timesOf(record).idleExpiresAt) return ended();
      const user = await deps.users.findById(record.userId);
      if (!user || user.status !== 'active' || !user.password_hash || !sameText(stampOf(user.password_hash), record.passwordStamp)) return ended();
      const path = await deps.tenants.pathTo(user.tenant_id);
      if (path.length === 0 || path.some((tenant) => tenant.status !== 'active')) return ended();
      const slid = { ...record, lastSeenAt: at };
      const times = timesOf(slid);
      // Ended while we read it (sign-out, a new sign-in): it stays ended, and this request is not signed in.
      if (!(await deps.store.refresh(idHash, slid, times.idleExpiresAt))) return undefined;
      // Read on every request, like the role: turning the requirement on limits live sessions too.
      const enrolmentOnly = twoFactorRequiredFor(path, user.role) && !(await (deps.twoFactorEnabled?.(user.id) ?? Promise.resolve(true)));
      return { user, tenant: path.at(-1)!, csrfToken: record.csrfToken, signedInAt: new Date(record.createdAt), enrolmentOnly, ...asDates(times) };
    },

    async end(id: string): Promise<void> {
      if (SESSION_ID.test(id)) await deps.store.destroy(hashToken(id));
    },
  };
}

/** Constant-time equality of two strings (a CSRF token against the session's). */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export type Sessions = ReturnType<typeof createSessions>;
