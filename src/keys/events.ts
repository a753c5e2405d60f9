// The events Keygate tells subscribers about, and which admin change raises which. Each type names
// the scope a caller must hold to subscribe an endpoint to it: an endpoint is made or changed only
// by a caller who could read the same facts through the admin API. Once made, it is the tenant's
// configuration, like its policy, and outlives its maker (docs/decisions.md).
export const EVENT_TYPES = [
  'key.created',
  'key.updated',
  'key.rotated',
  'key.disabled',
  'key.enabled',
  'key.deleted',
  'key.stopped',
  'key.expiring',
  'key.expired',
  'key.rotation_grace_ending',
  'key.denials',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'tenant.created',
  'tenant.updated',
  'tenant.disabled',
  'tenant.enabled',
  'webhook.disabled',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** The audit action of an admin change → the event it raises (changes not listed raise none). */
const EVENT_OF_ACTION: Readonly<Record<string, EventType>> = {
  'key.create': 'key.created',
  'key.update': 'key.updated',
  'key.rotate': 'key.rotated',
  'key.disable': 'key.disabled',
  'key.enable': 'key.enabled',
  'key.delete': 'key.deleted',
  'user.create': 'user.created',
  'user.update': 'user.updated',
  'user.disable': 'user.disabled',
  'user.enable': 'user.enabled',
  'user.delete': 'user.deleted',
  'tenant.create': 'tenant.created',
  'tenant.update': 'tenant.updated',
  'tenant.disable': 'tenant.disabled',
  'tenant.enable': 'tenant.enabled',
  'webhook.disable': 'webhook.disabled',
};

export function eventTypeOfAction(action: string): EventType | undefined {
  return Object.hasOwn(EVENT_OF_ACTION, action) ? EVENT_OF_ACTION[action] : undefined;
}

/** The scope whose holder may read what an event of this type says. */
export function scopeToReceive(type: EventType): string {
  if (type === 'key.denials') return 'admin:audit:read';
  if (type.startsWith('key.')) return 'admin:keys:read';
  if (type.startsWith('user.')) return 'admin:users:write';
  return 'admin:tenants:write';
}

/** What the outbox holds for one event until it is fanned out to the subscribed endpoints. */
export interface NewEvent {
  type: EventType;
  /** The tenant the event is about: endpoints of it and of every tenant above it receive it. */
  tenantId: string;
  data: Record<string, unknown>;
}
