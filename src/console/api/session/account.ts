// /console/api/session/account: the account (tenant) the session works in. GET names it and lists
// where the person may switch (their own tenant and every active one below it); PUT switches,
// with the CSRF token like every change. Never a tenant above or beside the person's own: those
// answer 404 exactly like ids that do not exist.
import type { Context } from 'koa';
import { z } from 'zod';
import type { SessionAuthenticator } from '../../../admin/session-auth.ts';
import { readJsonObject } from '../../../http/body.ts';
import { currentRequestScope } from '../../../http/request-scope.ts';
import { maySwitchAccounts } from '../../../identity/active-account.ts';
import type { Sessions, SignedIn } from '../../../identity/sessions.ts';
import { KeygateError } from '../../../shared/errors.ts';
import { parseInput } from '../../../shared/validation.ts';
import type { AuditStore } from '../../../stores/audit.ts';
import type { Tenant, TenantStore } from '../../../stores/tenants.ts';
import { accountView } from '../session.ts';

export const SWITCH_ACCOUNT_ACTION = 'session.switch_account';

const SwitchBody = z.strictObject({ tenant_id: z.string().max(64).nullable() });

export interface AccountRouteDeps {
  sessionAuth: SessionAuthenticator;
  sessions: Sessions;
  tenants: TenantStore;
  audit: AuditStore;
}

/** Each tenant of the person's subtree with the names from their own tenant down to it. */
function switchable(own: Tenant, below: Tenant[]) {
  const byId = new Map([own, ...below].map((tenant) => [tenant.id, tenant]));
  const pathOf = (tenant: Tenant): Tenant[] => {
    const parent = tenant.id === own.id || tenant.parent_id === null ? undefined : byId.get(tenant.parent_id);
    return parent ? [...pathOf(parent), tenant] : [tenant];
  };
  return [own, ...below.filter((tenant) => tenant.id !== own.id)].map((tenant) => ({
    id: tenant.id,
    name: tenant.name,
    parent_id: tenant.id === own.id ? null : tenant.parent_id,
    status: tenant.status,
    path: pathOf(tenant).map((step) => ({ id: step.id, name: step.name })),
  }));
}

export function accountRoutes(deps: AccountRouteDeps) {
  async function requireSignedIn(ctx: Context): Promise<{ id: string; signedIn: SignedIn }> {
    const found = await deps.sessionAuth.signedIn(ctx);
    if (!found) throw new KeygateError('unauthorized', 'not signed in');
    return found;
  }

  async function show(ctx: Context): Promise<void> {
    const { signedIn } = await requireSignedIn(ctx);
    const { user, tenant } = signedIn;
    const below = maySwitchAccounts(user.role) ? await deps.tenants.list(await deps.tenants.subtreeIds(user.tenant_id)) : [];
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { account: accountView(signedIn.accountPath), accounts: switchable(tenant, below) };
  }

  async function switchTo(ctx: Context): Promise<void> {
    const { id, signedIn } = await requireSignedIn(ctx);
    const { tenant_id: tenantId } = parseInput(SwitchBody, await readJsonObject(ctx));
    const from = signedIn.accountPath.at(-1)!.id;
    const accountPath = await deps.sessions.switchAccount(id, signedIn, tenantId);
    const scope = currentRequestScope();
    // Recorded under the person's own tenant: the accounts below it never learn who looked in from above.
    await deps.audit.record({
      action: SWITCH_ACCOUNT_ACTION,
      outcome: 'success',
      tenantId: signedIn.user.tenant_id,
      actorUserId: signedIn.user.id,
      ip: scope?.clientIpText ?? null,
      requestId: scope?.requestId ?? null,
      details: { via: 'console', from_tenant_id: from, to_tenant_id: accountPath.at(-1)!.id },
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { account: accountView(accountPath) };
  }

  return { GET: show, PUT: switchTo };
}
