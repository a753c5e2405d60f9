// Console sessions: opened by a sign-in, ended by sign-out, by 30 idle minutes or 12 hours in all
// (configurable), and at once when the user is disabled or deleted, their tenant (or one above it)
// is disabled, or their password changes. Every use reads the user's row again, so a role change
// applies to the next request. The id is 256 random bits; only its hash is stored.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hashToken } from '../crypto/token-hash.ts';
import type { SessionRecord, SessionStore } from '../stores/sessions.ts';
import type { Tenant, TenantStore } from '../stores/tenants.ts';
import type { User, UserStore } from '../stores/users.ts';
import { KeygateError } from '../shared/errors.ts';
import { maySwitchAccounts, reachAccount } from './active-account.ts';
import { twoFactorRequiredOf } from './tenant-policy.ts';

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

/** One of a person's sessions as they (or an admin) see it: never its id or the id's hash. */
export interface SessionView {
  /** Names the session for ending it; derived one-way from the id's hash, so it signs nobody in. */
  handle: string;
  created_at: string;
  last_seen_at: string;
  idle_expires_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  /** The session the asking request was made with. */
  current: boolean;
}

/** Where a session is opened from, kept for the person's list of sessions. */
export interface SessionOrigin {
  ip: string | null;
  userAgent: string | null;
}

/** A user agent is shown, not parsed: a bounded prefix is enough to tell browsers apart. */
const USER_AGENT_MAX_LENGTH = 256;

/** The public name of a session: a hash of its id's hash, under a label of its own. */
export const sessionHandleOf = (idHash: string) => hashToken(`session-handle:${idHash}`);

export interface SignedIn extends SessionTimes {
  user: User;
  tenant: Tenant;
  csrfToken: string;
  /** The tenants from the user's own down to the account they work in (just their own unless they switched). */
  accountPath: Tenant[];
  /** When the session was opened (a sign-in). */
  signedInAt: Date;
  /**
   * Two-factor is required of this person (their role, their tenant or one above it) and they
   * have none yet: the session may only enrol, sign out and say who it is (admin/session-auth.ts).
   */
  enrolmentOnly: boolean;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/** How long the old id of a session a password change moved stays, pointing at the new one. */
const MOVED_SESSION_KEPT_MS = 60_000;
/** Moves followed when ending a session: each password change moves it once. */
const MAX_MOVES_FOLLOWED = 8;
const randomToken = () => randomBytes(32).toString('base64url');
const stampOf = (passwordHash: string) => hashToken(passwordHash);

export function createSessions(deps: {
  store: SessionStore;
  users: UserStore;
  tenants: TenantStore;
  settings: SessionSettings;
  /** Whether the user has two-factor on; read only for those it is required of. */
  twoFactorEnabled?: (userId: string) => Promise<boolean>;
  /** Ends the user's sign-ins that wait for their second factor: they are sessions about to be. */
  endPendingSignIns?: (userId: string) => Promise<void>;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const { idleSeconds, maxSeconds } = deps.settings;
  const timesOf = (record: SessionRecord) => {
    const expiresAt = record.createdAt + maxSeconds * 1000;
    return { idleExpiresAt: Math.min(record.lastSeenAt + idleSeconds * 1000, expiresAt), expiresAt };
  };
  /** Ends a session, and the one a password change moved it to, if it moved after whoever ends it read it. */
  const endSession = async (idHash: string): Promise<void> => {
    let next: string | undefined = idHash;
    for (let hops = 0; next !== undefined && hops < MAX_MOVES_FOLLOWED; hops++) next = (await deps.store.destroy(next))?.movedTo;
  };
  const asDates = (times: { idleExpiresAt: number; expiresAt: number }): SessionTimes => ({
    idleExpiresAt: new Date(times.idleExpiresAt),
    expiresAt: new Date(times.expiresAt),
  });

  return {
    /** Opens a session for a user who has just proved their password. */
    async start(user: Pick<User, 'id' | 'password_hash'>, origin?: SessionOrigin): Promise<OpenedSession> {
      const id = randomToken();
      const at = now();
      const record: SessionRecord = {
        userId: user.id,
        csrfToken: randomToken(),
        createdAt: at,
        lastSeenAt: at,
        passwordStamp: stampOf(user.password_hash ?? ''),
        ip: origin?.ip ?? null,
        userAgent: origin?.userAgent?.slice(0, USER_AGENT_MAX_LENGTH) || null,
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
      // What a password change left behind signs nobody in, and stays until it expires: an end
      // that read this id before the change follows it to the session it moved to.
      if (!record || record.movedTo !== undefined) return undefined;
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
      const tenant = path.at(-1)!;
      // An account out of reach now (disabled, the role lowered) sends the session back to its own.
      const reach = record.activeTenantId && maySwitchAccounts(user.role) ? await reachAccount(deps.tenants, user, record.activeTenantId) : undefined;
      const accountPath = reach?.ok ? reach.path : [tenant];
      const slid = { ...record, lastSeenAt: at, activeTenantId: accountPath.length > 1 ? accountPath.at(-1)!.id : null };
      const times = timesOf(slid);
      // Ended while we read it (sign-out, a new sign-in): it stays ended, and this request is not signed in.
      if (!(await deps.store.refresh(idHash, slid, times.idleExpiresAt))) return undefined;
      // Read on every request, like the role: turning the requirement on limits live sessions too.
      // The path runs down to the account the person works in; a tenant below it that requires
      // two-factor binds them too, since their account reaches it (by naming it, or through a key
      // or webhook made there).
      const enrolmentOnly =
        (await twoFactorRequiredOf(deps.tenants, [...path, ...accountPath.slice(1)], user.role))
        && !(await (deps.twoFactorEnabled?.(user.id) ?? Promise.resolve(true)));
      return { user, tenant, csrfToken: record.csrfToken, accountPath, signedInAt: new Date(record.createdAt), enrolmentOnly, ...asDates(times) };
    },

    /**
     * Moves the session into `tenantId` (null or the user's own tenant = back home). A tenant
     * outside the user's subtree is 404 whether it exists or not; a role that may not switch is
     * 403 whatever it asks for.
     */
    async switchAccount(id: string, signedIn: SignedIn, tenantId: string | null): Promise<Tenant[]> {
      const { user, tenant } = signedIn;
      if (!maySwitchAccounts(user.role)) throw new KeygateError('forbidden', 'your role does not work in other accounts');
      let accountPath = [tenant];
      if (tenantId !== null && tenantId !== tenant.id) {
        const reach = await reachAccount(deps.tenants, user, tenantId);
        if (!reach.ok && reach.reason === 'not_found') throw new KeygateError('not_found', 'no such account');
        if (!reach.ok) throw new KeygateError('conflict', 'this account, or one above it, is disabled');
        accountPath = reach.path;
      }
      const idHash = hashToken(id);
      const record = await deps.store.find(idHash);
      const moved = record && record.movedTo === undefined && { ...record, activeTenantId: accountPath.length > 1 ? accountPath.at(-1)!.id : null };
      if (!moved || !(await deps.store.refresh(idHash, moved, timesOf(moved).idleExpiresAt))) {
        throw new KeygateError('unauthorized', 'not signed in, or the session has ended: sign in again');
      }
      return accountPath;
    },

    async end(id: string): Promise<void> {
      if (SESSION_ID.test(id)) await endSession(hashToken(id));
    },

    /** The user's live sessions, most recently used first; `currentId` (a cookie value) is marked. */
    async list(userId: string, currentId?: string): Promise<SessionView[]> {
      const at = now();
      const currentHash = currentId === undefined ? undefined : hashToken(currentId);
      const user = await deps.users.findById(userId);
      const stamp = user?.password_hash ? stampOf(user.password_hash) : undefined;
      const found = (await deps.store.listForUser(userId)).filter(({ record }) => record.movedTo === undefined);
      // Sessions a new password has ended are gone for good: remove them rather than list them.
      const stale = found.filter(({ record }) => stamp === undefined || !sameText(stamp, record.passwordStamp));
      for (const { idHash } of stale) await deps.store.destroy(idHash);
      return found
        .filter((session) => !stale.includes(session) && timesOf(session.record).idleExpiresAt > at)
        .sort((a, b) => b.record.lastSeenAt - a.record.lastSeenAt)
        .map(({ idHash, record }) => {
          const times = timesOf(record);
          return {
            handle: sessionHandleOf(idHash),
            created_at: new Date(record.createdAt).toISOString(),
            last_seen_at: new Date(record.lastSeenAt).toISOString(),
            idle_expires_at: new Date(times.idleExpiresAt).toISOString(),
            expires_at: new Date(times.expiresAt).toISOString(),
            ip: record.ip ?? null,
            user_agent: record.userAgent ?? null,
            current: idHash === currentHash,
          };
        });
    },

    /**
     * Ends the user's sessions: the one `handle` names, or all of them but the one `keepId` (a
     * cookie value) names. Returns how many ended.
     */
    async endFor(userId: string, which: { handle: string } | { keepId?: string }): Promise<number> {
      if (!('handle' in which)) await deps.endPendingSignIns?.(userId);
      const keepHash = 'keepId' in which && which.keepId !== undefined ? hashToken(which.keepId) : undefined;
      const ending = (await deps.store.listForUser(userId)).filter(
        ({ idHash, record }) => record.movedTo === undefined && ('handle' in which ? sessionHandleOf(idHash) === which.handle : idHash !== keepHash),
      );
      for (const { idHash } of ending) await endSession(idHash);
      return ending.length;
    },

    /**
     * The session `id` goes on under a new id, tied to a new password, so it outlives the change
     * that ends every other one, and a copy of its old cookie is worth nothing. Everything else
     * stays: when it began, the account it works in, and its CSRF token (the browser's other tabs
     * hold it, and get the new cookie from the shared jar). The old id is left pointing at the new
     * one for a minute (`movedTo`): an end that read the old id before the move (sign-out, an
     * admin ending every session) ends the new one too. Undefined when the session has ended
     * meanwhile: then no new one is left.
     */
    async reissue(id: string, passwordHash: string): Promise<OpenedSession | undefined> {
      if (!SESSION_ID.test(id)) return undefined;
      const idHash = hashToken(id);
      const record = await deps.store.find(idHash);
      if (!record || record.movedTo !== undefined) return undefined;
      const next = randomToken();
      const nextHash = hashToken(next);
      const moved: SessionRecord = { ...record, lastSeenAt: now(), passwordStamp: stampOf(passwordHash) };
      const times = timesOf(moved);
      await deps.store.save(nextHash, moved, times.idleExpiresAt);
      if (!(await deps.store.refresh(idHash, { ...record, movedTo: nextHash }, now() + MOVED_SESSION_KEPT_MS))) {
        await endSession(nextHash);
        return undefined;
      }
      return { id: next, csrfToken: moved.csrfToken, ...asDates(times) };
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
