// The endpoint dialog, for a new endpoint and for changing one: URL, description and event types
// (checkboxes from the API's list), checked in the page first and then by the server, whose field
// errors land on the fields.
import { ApiError, describeError } from '../api.ts';
import { field, h, setFieldError } from '../dom.ts';
import type { Webhook } from '../types.ts';
import { openDialog } from './dialog.ts';
import { eventTypesInput, loadEventTypes } from './event-types.ts';

export interface EndpointFields {
  url: string;
  description: string | null;
  event_types: string[];
}

/**
 * Opens the dialog; `submit` sends the fields and may throw an ApiError, shown in the dialog. What
 * it returns runs once the dialog has closed (and focus went back), e.g. to open the next dialog.
 */
export async function openEndpointDialog(options: {
  title: string;
  confirm: string;
  initial?: Webhook;
  submit: (fields: EndpointFields) => Promise<(() => void) | undefined>;
}): Promise<void> {
  const types = await loadEventTypes();
  const url = h('input', {
    type: 'url',
    name: 'url',
    required: true,
    autocomplete: 'off',
    placeholder: 'https://example.com/keygate-events',
    inputmode: 'url',
    value: options.initial?.url ?? '',
  });
  const description = h('input', { type: 'text', name: 'description', autocomplete: 'off', value: options.initial?.description ?? '' });
  const events = eventTypesInput(types, options.initial?.event_types ?? ['key.expiring', 'key.expired']);
  const error = h('p', { class: 'form-error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'button primary', form: 'webhook-form' }, options.confirm);
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = h(
    'form',
    { id: 'webhook-form', novalidate: true },
    field('Endpoint URL', url, 'HTTPS, reachable from Keygate. Redirects are not followed.'),
    field('Description', description),
    events.element,
  );
  const dialog = openDialog({ title: options.title, wide: true, body: [form, error], actions: [cancel, save] });
  cancel.addEventListener('click', () => dialog.close());
  const eventsError = events.element.querySelector<HTMLElement>('[data-error-for="event_types"]')!;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const chosen = events.chosen();
    const urlOk = /^https?:\/\/\S+$/i.test(url.value.trim());
    setFieldError(url, urlOk ? '' : 'Enter the full URL, starting with https://');
    eventsError.textContent = chosen.length > 0 ? '' : 'Choose at least one event type';
    if (!urlOk) return url.focus();
    if (chosen.length === 0) return events.first?.focus();
    save.disabled = true;
    try {
      const then = await options.submit({ url: url.value.trim(), description: description.value.trim() || null, event_types: chosen });
      dialog.close();
      then?.();
    } catch (failure) {
      save.disabled = false;
      if (failure instanceof ApiError) {
        for (const detail of failure.details) if (detail.field === 'url') setFieldError(url, detail.message);
        error.textContent = describeError(failure);
      } else error.textContent = String(failure);
    }
  });
}
