// Audit events name users and keys by id; people read emails and key names. A batch of events is
// labelled with one lookup per kind (never one per event), and only with names the caller may see.
import type { AuditEvent, AuditStore, LabelScope } from '../stores/audit.ts';

export interface LabelledAuditEvent extends AuditEvent {
  actor_user_email: string | null;
  actor_key_name: string | null;
  target_key_name: string | null;
  /** The user a user.* event is about (details.user_id). */
  target_user_email: string | null;
}

const subjectUserOf = (event: AuditEvent): string | null => (typeof event.details.user_id === 'string' ? event.details.user_id : null);

export async function labelEvents(audit: AuditStore, events: readonly AuditEvent[], scope: LabelScope): Promise<LabelledAuditEvent[]> {
  const userIds = events.flatMap((e) => [e.actor_user_id, subjectUserOf(e)]).filter((id): id is string => id !== null);
  const keyIds = events.flatMap((e) => [e.actor_key_id, e.target_key_id]).filter((id): id is string => id !== null);
  const { users, keys } = await audit.labels(userIds, keyIds, scope);
  const user = (id: string | null) => (id === null ? null : (users.get(id) ?? null));
  const key = (id: string | null) => (id === null ? null : (keys.get(id) ?? null));
  return events.map((event) => ({
    ...event,
    actor_user_email: user(event.actor_user_id),
    actor_key_name: key(event.actor_key_id),
    target_key_name: key(event.target_key_id),
    target_user_email: user(subjectUserOf(event)),
  }));
}
