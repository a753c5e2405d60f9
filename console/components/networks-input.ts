// Up to ten networks as chips: type an address or CIDR, Enter or "Add" checks it at once; × removes.
import { h, setFieldError, uid } from '../dom.ts';
import { networkError } from '../network.ts';

export const MAX_NETWORKS = 10;

export interface NetworksInput {
  element: HTMLElement;
  values(): string[];
  /** Text typed but not added yet: the form refuses to submit it silently. */
  pending(): string;
}

export function networksInput(initial: string[]): NetworksInput {
  const values = [...initial];
  const input = h('input', { type: 'text', id: uid('networks'), inputmode: 'text', autocomplete: 'off', placeholder: '203.0.113.0/24 or 2001:db8::/32' });
  const add = h('button', { type: 'button', class: 'button small' }, 'Add');
  const chips = h('ul', { class: 'chips', 'aria-label': 'Networks added' });
  const count = h('p', { class: 'hint', id: `${input.id}-hint` });

  const render = () => {
    chips.replaceChildren(
      ...values.map((value, index) => {
        const remove = h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove ${value}` }, '×');
        remove.addEventListener('click', () => {
          values.splice(index, 1);
          render();
          input.focus();
        });
        return h('li', { class: 'chip' }, h('span', {}, value), remove);
      }),
    );
    count.textContent = values.length === 0 ? 'None: any IP may use the key.' : `${values.length} of ${MAX_NETWORKS}.`;
    input.disabled = values.length >= MAX_NETWORKS;
    add.disabled = values.length >= MAX_NETWORKS;
  };
  const tryAdd = () => {
    const text = input.value.trim();
    if (!text) return;
    const error = networkError(text) || (values.includes(text) ? 'Already in the list' : '');
    setFieldError(input, error);
    if (error) return;
    values.push(text);
    input.value = '';
    render();
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      tryAdd();
    }
  });
  input.addEventListener('input', () => {
    const text = input.value.trim();
    setFieldError(input, text && (text.includes('/') || text.split('.').length === 4 || text.includes(':')) ? networkError(text) : '');
  });
  add.addEventListener('click', tryAdd);
  render();

  const element = h(
    'div',
    { class: 'field' },
    h('label', { for: input.id }, 'Allowed networks (IPv4, IPv6 or CIDR, up to 10)'),
    h('div', { class: 'inline' }, input, add),
    count,
    h('p', { class: 'field-error', id: `${input.id}-error` }),
    chips,
  );
  input.setAttribute('aria-describedby', `${input.id}-hint ${input.id}-error`);
  return { element, values: () => [...values], pending: () => input.value.trim() };
}
