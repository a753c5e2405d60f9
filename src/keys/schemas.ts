// What a key may be given, stated once: the admin API validates requests and writes its OpenAPI
// document from these schemas, and the key service validates every caller's input (the CLI's
// too) with the same ones. Rules that need stored state (the tenant's expiry policy, the user,
// the caller's own rights) are checked by the service after these.
import { z } from 'zod';
import { parseNetworkList } from '../shared/network.ts';
import { isValidScopeToken } from '../shared/scope-token.ts';

export const KEY_LIMITS = Object.freeze({
  nameMaxLength: 255,
  descriptionMaxLength: 1024,
  maxNetworks: 10,
  maxScopes: 100,
  minTokenTtlSeconds: 60,
  maxTokenTtlSeconds: 86_400,
  defaultLifetimeDays: 90,
  maxKeysPerUser: 20,
  maxRateLimitPerMinute: 1_000_000,
  /** How long a rotated-out secret may keep working: 7 days. */
  maxGraceSeconds: 7 * 86_400,
});

export const timestamp = z.iso.datetime({ offset: true }).describe('ISO-8601 timestamp');
const scope = z.string().min(1).max(128).describe('RFC 6749 scope token');
const network = z.string().min(1).max(64).describe('IPv4/IPv6 address or CIDR');

const scopes = z
  .array(scope)
  .min(1)
  .max(KEY_LIMITS.maxScopes)
  .superRefine((items, ctx) => {
    const invalid = items.find((s) => !isValidScopeToken(s));
    if (invalid !== undefined)
      ctx.addIssue({ code: 'custom', message: `'${invalid.slice(0, 64)}' is not a valid scope (RFC 6749 §3.3 characters, 1–128 long)` });
  });

const networks = z
  .array(network)
  .max(KEY_LIMITS.maxNetworks)
  .superRefine((items, ctx) => {
    const parsed = parseNetworkList(items);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `'${parsed.invalid.slice(0, 64)}' is not an IP address or CIDR` });
  });

export const keyFields = {
  name: z
    .string()
    .min(1)
    .max(KEY_LIMITS.nameMaxLength)
    .refine((name) => name === '' || name.trim() !== '', 'must not be blank'),
  description: z.string().max(KEY_LIMITS.descriptionMaxLength).nullable(),
  scopes,
  networks,
  expires_at: timestamp.nullable().describe('omitted = default lifetime (90 days); null = never, when the tenant allows it'),
  token_ttl_seconds: z.int().min(KEY_LIMITS.minTokenTtlSeconds).max(KEY_LIMITS.maxTokenTtlSeconds),
  rate_limit_per_minute: z.int().min(1).max(KEY_LIMITS.maxRateLimitPerMinute).nullable(),
};

export const NewKeySchema = z.strictObject({
  ...keyFields,
  description: keyFields.description.optional(),
  networks: keyFields.networks.optional(),
  expires_at: keyFields.expires_at.optional(),
  token_ttl_seconds: keyFields.token_ttl_seconds.optional(),
  rate_limit_per_minute: keyFields.rate_limit_per_minute.optional(),
  kind: z.enum(['service', 'user']).optional(),
  user_id: z.uuid().optional(),
  tenant_id: z.uuid().optional().describe("defaults to the caller's tenant; a child tenant's id is allowed"),
});

export const KeyChangeSchema = z.strictObject({
  name: keyFields.name.optional(),
  description: keyFields.description.optional(),
  scopes: keyFields.scopes.optional(),
  networks: keyFields.networks.optional(),
  expires_at: keyFields.expires_at.optional(),
  token_ttl_seconds: keyFields.token_ttl_seconds.optional(),
  rate_limit_per_minute: keyFields.rate_limit_per_minute.optional(),
});

export const RotationSchema = z.strictObject({
  grace_seconds: z.int().min(0).max(KEY_LIMITS.maxGraceSeconds).describe('how long the old secret keeps working; 0 = stop now'),
});

/** A new key, as every caller describes it (`tenant_id` omitted = the caller's own tenant). */
export type NewKey = z.input<typeof NewKeySchema>;
/** Fields to change on a key; absent = unchanged. */
export type KeyChange = z.input<typeof KeyChangeSchema>;

/** Networks as stored: canonical CIDR texts (a single address becomes /32 or /128), no repeats. */
export function canonicalNetworks(items: readonly string[]): string[] {
  const parsed = parseNetworkList(items);
  if (!parsed.ok) throw new Error(`canonicalNetworks: '${parsed.invalid}' was not validated`);
  return parsed.networks.map((network) => network.text);
}

/** The orders a key list offers; a leading `-` is descending. */
export const KEY_SORTS = ['name', '-name', 'created_at', '-created_at', 'expires_at', '-expires_at', 'last_used_at', '-last_used_at'] as const;
export type KeySortName = (typeof KEY_SORTS)[number];
export const DEFAULT_KEY_SORT: KeySortName = '-created_at';
