// A stored key as the admin API and the CLI show it: snake_case, timestamps as ISO-8601, and
// 'expired' derived from the expiry.
import type { KeyRow } from '../stores/keys.ts';
import type { KeyView } from './model.ts';

export function toView(row: KeyRow, now: Date): KeyView {
  const expired = row.expires_at !== null && row.expires_at.getTime() <= now.getTime();
  return {
    client_id: row.client_id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    tenant_id: row.tenant_id,
    user_id: row.user_id,
    scopes: row.scopes,
    networks: row.networks,
    expires_at: row.expires_at?.toISOString() ?? null,
    status: expired ? 'expired' : row.status,
    token_ttl_seconds: row.token_ttl_seconds,
    rate_limit_per_minute: row.rate_limit_per_minute,
    created_by: row.created_by_user_id ?? row.created_by_key_id ?? 'system',
    created_at: row.created_at.toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    last_used_ip: row.last_used_ip,
    auth_method: row.auth_method,
    jwks: row.public_jwks,
    tls_client_auth: row.tls_subject_dn ? { subject_dn: row.tls_subject_dn } : row.tls_san_dns ? { san_dns: row.tls_san_dns } : null,
    tls_client_certificate: row.tls_certificate,
    dpop_required: row.dpop_required,
  };
}
