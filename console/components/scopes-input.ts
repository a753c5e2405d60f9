// Scopes from the catalogue: one row per resource with None / Read-only / Read & write (and any
// other action the resource lists), plus, for admins or when there is no catalogue, scopes typed
// by hand.
import { h, uid } from '../dom.ts';
import type { ScopeResource } from '../types.ts';

export interface ScopesInput {
  element: HTMLElement;
  values(): string[];
}

export function scopesInput(catalogue: ScopeResource[], initial: string[], allowTyped: boolean): ScopesInput {
  const chosen = new Set(initial);
  const rows: { resource: ScopeResource; select: HTMLSelectElement; extras: HTMLInputElement[] }[] = [];
  const used = new Set<string>();
  for (const resource of catalogue) {
    const has = (action: string) => resource.actions.includes(action);
    const select = h('select', { id: uid('scope'), 'data-resource': resource.resource });
    select.append(h('option', { value: '' }, 'None'));
    if (has('read')) select.append(h('option', { value: 'read' }, 'Read-only'));
    if (has('write')) select.append(h('option', { value: 'write' }, has('read') ? 'Read & write' : 'Write'));
    select.value = chosen.has(`${resource.resource}:write`) && has('write') ? 'write' : chosen.has(`${resource.resource}:read`) && has('read') ? 'read' : '';
    used.add(`${resource.resource}:read`).add(`${resource.resource}:write`);
    const extras = resource.actions
      .filter((action) => action !== 'read' && action !== 'write')
      .map((action) => {
        const scope = `${resource.resource}:${action}`;
        used.add(scope);
        return h('input', { type: 'checkbox', id: uid('action'), value: scope, checked: chosen.has(scope) });
      });
    rows.push({ resource, select, extras });
  }
  const typed = h('input', {
    type: 'text',
    id: uid('typed-scopes'),
    autocomplete: 'off',
    value: initial.filter((s) => !used.has(s)).join(' '),
    placeholder: 'e.g. reports:export token:introspect',
  });

  const element = h(
    'fieldset',
    { class: 'scopes' },
    h('legend', {}, 'Scopes'),
    catalogue.length === 0 ? h('p', { class: 'hint' }, 'No scope catalogue yet: type the scopes.') : null,
    ...rows.map(({ resource, select, extras }) =>
      h(
        'div',
        { class: 'scope-row' },
        h(
          'label',
          { for: select.id },
          h('strong', {}, resource.resource),
          resource.description ? h('span', { class: 'muted' }, ` — ${resource.description}`) : null,
        ),
        select,
        ...extras.map((box) => h('label', { class: 'checkbox', for: box.id }, box, ` ${box.value.split(':').pop()}`)),
      ),
    ),
    allowTyped || catalogue.length === 0 ? h('div', { class: 'field' }, h('label', { for: typed.id }, 'Other scopes (space-separated)'), typed) : null,
  );

  return {
    element,
    values() {
      const scopes: string[] = [];
      for (const { resource, select, extras } of rows) {
        if (select.value === 'read') scopes.push(`${resource.resource}:read`);
        if (select.value === 'write') {
          if (resource.actions.includes('read')) scopes.push(`${resource.resource}:read`);
          scopes.push(`${resource.resource}:write`);
        }
        for (const box of extras) if (box.checked) scopes.push(box.value);
      }
      if (allowTyped || catalogue.length === 0) scopes.push(...typed.value.split(/[\s,]+/).filter(Boolean));
      return [...new Set(scopes)];
    },
  };
}
