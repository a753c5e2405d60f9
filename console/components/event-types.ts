// The event types an endpoint may subscribe to, as the admin API lists them: read from the API's
// own description (the enum of CreateWebhook.event_types in /admin/v1/openapi.json), so the console
// never keeps a second list that could drift from the server's.
import { get } from '../api.ts';
import { h, uid } from '../dom.ts';

let cached: Promise<string[]> | null = null;

/** The part of the OpenAPI document read here: the enum of the create body's event types. */
interface Description {
  components?: { schemas?: { CreateWebhook?: { properties?: { event_types?: { items?: { enum?: string[] } } } } } };
}

export function loadEventTypes(): Promise<string[]> {
  cached ??= get<Description>('/admin/v1/openapi.json').then(
    (document) => document.components?.schemas?.CreateWebhook?.properties?.event_types?.items?.enum ?? [],
    (error: unknown) => {
      cached = null;
      throw error;
    },
  );
  return cached;
}

export interface EventTypesInput {
  element: HTMLFieldSetElement;
  chosen(): string[];
  /** The first checkbox, for focus and error messages. */
  first: HTMLInputElement | null;
}

/** One checkbox per event type, grouped by what they are about (key, user, tenant, webhook). */
export function eventTypesInput(types: string[], chosen: string[] = []): EventTypesInput {
  const selected = new Set(chosen);
  const boxes = types.map((type) => h('input', { type: 'checkbox', id: uid('event'), name: 'event_types', value: type, checked: selected.has(type) }));
  const groups = new Map<string, HTMLInputElement[]>();
  for (const box of boxes) {
    const group = box.value.split('.')[0]!;
    groups.set(group, [...(groups.get(group) ?? []), box]);
  }
  const errorId = uid('event-error');
  const element = h(
    'fieldset',
    { class: 'event-types', 'aria-describedby': errorId },
    h('legend', {}, 'Event types'),
    ...[...groups].map(([group, members]) =>
      h(
        'div',
        { class: 'event-group', role: 'group', 'aria-label': `${group} events` },
        ...members.map((box) => h('label', { class: 'checkbox', for: box.id }, box, ` ${box.value}`)),
      ),
    ),
    h('p', { class: 'field-error', id: errorId, 'data-error-for': 'event_types' }),
  );
  return { element, chosen: () => boxes.filter((b) => b.checked).map((b) => b.value), first: boxes[0] ?? null };
}
