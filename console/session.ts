// The signed-in user, held in memory only (never in browser storage): the cookie is HttpOnly and
// the CSRF token lives in this module for the page's lifetime.
import { api, setCsrfToken, setShownAccount } from './api.ts';
import type { ActiveAccount, Role, Session, SessionUser, SwitchableAccount } from './types.ts';

let current: Session | null = null;

export function currentUser(): SessionUser | null {
  return current?.user ?? null;
}

/** The session, if the cookie still names a live one. */
export async function loadSession(): Promise<Session | null> {
  try {
    remember(await api<Session>('GET', '/console/api/session', undefined, { quietUnauthorized: true }));
  } catch {
    remember(null);
  }
  return current;
}

/** The session, or null when the password was right and a second factor is needed (submitSecondFactor). */
export async function signIn(email: string, password: string): Promise<Session | null> {
  const answer = await api<Session | { two_factor_required: true }>('POST', '/console/api/session', { email, password }, { quietUnauthorized: true });
  if ('two_factor_required' in answer) return null;
  remember(answer);
  // The sign-in answer may carry less than GET does (tenant name, expiry times).
  return (await loadSession()) ?? answer;
}

/** The code (or a recovery code) that completes a sign-in waiting for its second factor. */
export async function submitSecondFactor(code: string): Promise<Session> {
  const session = await api<Session>('POST', '/console/api/session/two-factor', { code }, { quietUnauthorized: true });
  remember(session);
  return (await loadSession()) ?? session;
}

/** The session may only enrol in two-factor until the person has it (their tenant requires it). */
export function mustEnrolTwoFactor(): boolean {
  return current?.two_factor_enrolment_required === true;
}

export async function signOut(): Promise<void> {
  try {
    await api<void>('DELETE', '/console/api/session', undefined, { quietUnauthorized: true });
  } finally {
    remember(null);
  }
}

export function forget(): void {
  remember(null);
}

function remember(session: Session | null): void {
  current = session;
  setCsrfToken(session?.csrf_token ?? null);
  setShownAccount(session?.account?.id ?? null);
}

/** Whether the role may change keys at all. The server decides every request; this only hides controls. */
export function canWrite(role: Role | undefined = current?.user.role): boolean {
  return role === 'admin' || role === 'manager' || role === 'member';
}

/** Account (service) keys and keys of other users: managers and admins. */
export function canManageTenantKeys(role: Role | undefined = current?.user.role): boolean {
  return role === 'admin' || role === 'manager';
}

/**
 * Webhooks: the admin API asks for the tenant-policy scope (admin:tenants:write), which of the
 * roles only admins hold. The server decides every request; this only hides the page and controls.
 */
export function canManageWebhooks(role: Role | undefined = current?.user.role): boolean {
  return role === 'admin';
}

/**
 * Users: the admin API asks for admin:users:write, which of the default roles only admins hold.
 * The server decides every request; this only hides the page and its controls.
 */
export function canManageUsers(role: Role | undefined = current?.user.role): boolean {
  return role === 'admin';
}
/** The account the session works in (the user's own tenant unless they switched). */
export function currentAccount(): ActiveAccount | null {
  return current?.account ?? null;
}

/** Whether the session works in an account below the user's own tenant. */
export function inChildAccount(): boolean {
  const account = currentAccount();
  return account !== null && account.path.length > 1;
}

/** Switching into a child account: admins and managers. The server decides; this only hides the control. */
export function canSwitchAccounts(role: Role | undefined = current?.user.role): boolean {
  return role === 'admin' || role === 'manager';
}

/** Child accounts (tenants): the admin API asks for admin:tenants:write, which of the roles only admins hold. */
export function canManageAccounts(role: Role | undefined = current?.user.role): boolean {
  return role === 'admin';
}

/** The user's own tenant and every account below it they may switch into. */
export async function switchableAccounts(): Promise<SwitchableAccount[]> {
  return (await api<{ accounts: SwitchableAccount[] }>('GET', '/console/api/session/account')).accounts;
}

/** Moves the session into `tenantId` (null = back to the user's own tenant), then reads the session again. */
export async function switchAccount(tenantId: string | null): Promise<void> {
  await api('PUT', '/console/api/session/account', { tenant_id: tenantId });
  await loadSession();
}

/** The tenant the pages work on: the active account's, else the user's own. */
export function activeTenantId(): string | undefined {
  return currentAccount()?.id ?? current?.user.tenant_id;
}

/**
 * The audit log: every role reads it (admin:audit:read is a read scope every default role holds;
 * a member reads the events about them). The server decides every request; this only shows the link.
 */
export function canReadAudit(role: Role | undefined = current?.user.role): boolean {
  return role !== undefined;
}
