// A stored key as the admin API and the CLI show it: snake_case, timestamps as ISO-8601, and
// 'expired' derived from the expiry.
import type { KeyRow, ListedKeyRow } from '../stores/keys.ts';
import type { KeyCreator, KeyView, ListedKeyView } from './model.ts';

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

function creatorOf(row: ListedKeyRow): KeyCreator | null {
  // A user key acting records both; the person is who created it.
  if (row.created_by_user_id) return { kind: 'user', id: row.created_by_user_id, label: row.creator_user_email };
  if (row.created_by_key_id) return { kind: 'key', id: row.created_by_key_id, label: row.creator_key_name };
  return null;
}

export function toListedView(row: ListedKeyRow, now: Date, usage7d: number[] | null): ListedKeyView {
  return { ...toView(row, now), created_by: creatorOf(row), user_email: row.user_email, usage_7d: usage7d };
}
