// The signed-in user, held in memory only (never in browser storage): the cookie is HttpOnly and
// the CSRF token lives in this module for the page's lifetime.
import { api, setCsrfToken } from './api.ts';
import type { Role, Session, SessionUser } from './types.ts';

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
