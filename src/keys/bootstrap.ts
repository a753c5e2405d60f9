// First start: the first tenant, an admin service key and the first admin user, with a one-time
// link that sets that user's password. The key and the link are printed once.
import type { TenantService } from '../identity/tenants.ts';
import type { SetupLink, SetupLinks } from '../identity/setup-links.ts';
import type { UserService, UserView } from '../identity/users.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { KeyService } from './service.ts';
import { BOOTSTRAP_SCOPES } from './service.ts';
import type { CreatedKey } from './types.ts';

export interface Bootstrapped {
  created: CreatedKey;
  admin: UserView;
  setupLink: SetupLink;
}

/** Undefined when a tenant already exists: bootstrap never runs twice. */
export async function bootstrap(
  runtime: { tenants: TenantStore; tenantService: TenantService; keyService: KeyService; userService: UserService; setupLinkService: SetupLinks },
  options: { tenantName?: string; adminEmail: string },
): Promise<Bootstrapped | undefined> {
  if ((await runtime.tenants.count()) > 0) return undefined;
  const actor = { keyId: null, userId: null, via: 'bootstrap' };
  const tenant = await runtime.tenantService.createRoot(options.tenantName ?? 'default', actor);
  const created = await runtime.keyService.create({ tenant_id: tenant.id, name: 'bootstrap admin', scopes: [...BOOTSTRAP_SCOPES] }, actor);
  const admin = await runtime.userService.create({ tenantId: tenant.id, email: options.adminEmail, name: 'Administrator', role: 'admin' }, actor);
  const setupLink = await runtime.setupLinkService.issue({ id: admin.id, tenant_id: admin.tenant_id }, actor);
  return { created, admin, setupLink };
}

export function formatBootstrapBanner({ created, admin, setupLink }: Bootstrapped): string {
  return [
    '',
    '================ Keygate bootstrap admin key (shown once) ================',
    `tenant_id:     ${created.key.tenant_id}`,
    `client_id:     ${created.key.client_id}`,
    `client_secret: ${created.client_secret}`,
    `api_key:       ${created.api_key}`,
    `scopes:        ${created.key.scopes.join(' ')}`,
    `expires_at:    ${created.key.expires_at ?? 'never'}`,
    'Store it now: only an HMAC of the secret is kept.',
    '',
    `First admin user: ${admin.email}. Set its password (link works once, until ${setupLink.expires_at}):`,
    `setup_link:    ${setupLink.url}`,
    '==========================================================================',
    '',
  ].join('\n');
}
