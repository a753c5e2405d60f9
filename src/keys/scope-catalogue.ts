// The scope catalogue rule, stated once: when a tenant or any tenant above it has a catalogue,
// every scope newly given to one of its keys (at creation, or added by a change) must be
// `<resource>:<action>` for a resource and action the catalogue lists, or one of Keygate's own
// scopes (those are checked by authority.ts). Scopes a key already holds stay: its tokens keep
// being issued for them. Without any catalogue along the path, scopes are free-form.
import { z } from 'zod';
import type { FieldError } from '../shared/errors.ts';
import type { ScopeCatalogueStore, ScopeResourceRow } from '../stores/scope-catalogue.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { isKeygateScope } from './model.ts';

export const CATALOGUE_LIMITS = Object.freeze({ maxActions: 20, descriptionMaxLength: 1024 });

/** A resource name: lower case, and never Keygate's own prefixes (`admin`, `token`). */
export const ResourceName = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'must be 1–64 characters: a–z first, then a–z, 0–9, _ . or -')
  .refine((name) => name !== 'admin' && name !== 'token', 'is reserved for Keygate’s own scopes');

export const ScopeResourceSchema = z.strictObject({
  description: z.string().max(CATALOGUE_LIMITS.descriptionMaxLength).optional().describe('default empty'),
  actions: z
    .array(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be 1–32 characters: a–z first, then a–z, 0–9, _ or -'))
    .min(1)
    .max(CATALOGUE_LIMITS.maxActions)
    .refine((actions) => new Set(actions).size === actions.length, 'must not repeat an action')
    .describe('e.g. ["read", "write"]; the scopes are <resource>:<action>'),
});
export type ScopeResourceInput = z.input<typeof ScopeResourceSchema>;

/** What a tenant's keys may be given: its own resources and every tenant's above it. */
export interface Catalogue {
  /** One entry per resource, from the tenant nearest the root that defines it. */
  entries: readonly ScopeResourceRow[];
}

export async function catalogueFor(
  deps: { tenants: Pick<TenantStore, 'pathTo'>; scopeCatalogue: Pick<ScopeCatalogueStore, 'forTenants'> },
  tenantId: string,
): Promise<Catalogue> {
  const path = await deps.tenants.pathTo(tenantId);
  const depth = new Map(path.map((tenant, index) => [tenant.id, index]));
  const rows = await deps.scopeCatalogue.forTenants(path.map((tenant) => tenant.id));
  // A definition from above binds the whole subtree, even over one a tenant below made first.
  const binding = new Map<string, ScopeResourceRow>();
  const depthOf = (row: ScopeResourceRow) => depth.get(row.tenant_id) ?? 0;
  for (const row of rows) {
    const held = binding.get(row.resource);
    if (!held || depthOf(row) < depthOf(held)) binding.set(row.resource, row);
  }
  return { entries: [...binding.values()] };
}

/** Field errors for scopes `added` to a key of a tenant with this catalogue. */
export function refusalsOffCatalogue(catalogue: Catalogue, added: readonly string[]): FieldError[] {
  if (catalogue.entries.length === 0) return [];
  const allowed = new Set(catalogue.entries.flatMap((entry) => entry.actions.map((action) => `${entry.resource}:${action}`)));
  return added
    .filter((scope) => !isKeygateScope(scope) && !allowed.has(scope))
    .map((scope) => ({ field: 'scopes', message: `'${scope.slice(0, 64)}' is not in the tenant's scope catalogue` }));
}
