// First start: the first tenant and an admin service key, printed once.
import type { TenantService } from '../identity/tenants.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { KeyService } from './service.ts';
import { BOOTSTRAP_SCOPES } from './service.ts';
import type { CreatedKey } from './types.ts';

/** Undefined when a tenant already exists: bootstrap never runs twice. */
export async function bootstrap(
  runtime: { tenants: TenantStore; tenantService: TenantService; keyService: KeyService },
  tenantName = 'default',
): Promise<CreatedKey | undefined> {
  if ((await runtime.tenants.count()) > 0) return undefined;
  const actor = { keyId: null, userId: null, via: 'bootstrap' };
  const tenant = await runtime.tenantService.createRoot(tenantName, actor);
  return runtime.keyService.create({ tenant_id: tenant.id, name: 'bootstrap admin', scopes: [...BOOTSTRAP_SCOPES] }, actor);
}

export function formatBootstrapBanner(created: CreatedKey): string {
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
    '==========================================================================',
    '',
  ].join('\n');
}
