// A shown-once secret: labelled values, the secret ones masked behind an eye, a copy button for
// each, and optionally a file to download. The secrets live only in this panel's closure and in
// the nodes it built; `dispose` empties and detaches those nodes and drops the references, so
// nothing of them is left in the page once its dialog closes. `secretPanel` is the created-key
// panel; `shownOncePanel` serves any other shown-once secret (a webhook's signing secret).
import { h } from '../dom.ts';
import type { CreatedKey } from '../types.ts';

export interface SecretPanel {
  nodes: Node[];
  /** True once a secret value was copied or the file downloaded. */
  saved(): boolean;
  dispose(): void;
}

export interface PanelRow {
  label: string;
  /** `data-field` of the value, `data-copy` / `data-reveal` of its buttons. */
  name: string;
  value: string;
  secret?: boolean;
}

export interface PanelOptions {
  warning: string;
  rows: PanelRow[];
  download?: { label: string; filename: string; content: string };
}

const MASK = '••••••••••••••••••••••••';

export function secretPanel(created: CreatedKey): SecretPanel {
  return shownOncePanel({
    warning: 'Copy the secret or download the key file now: you will not see this secret again.',
    rows: [
      { label: 'Client ID', name: 'client_id', value: created.key.client_id },
      { label: 'Secret', name: 'client_secret', value: created.client_secret, secret: true },
      { label: 'API key', name: 'api_key', value: created.api_key, secret: true },
      { label: 'Token URL', name: 'token_url', value: created.key_file.token_url },
    ],
    download: { label: 'Download key file', filename: `keygate-${created.key.client_id}.json`, content: JSON.stringify(created.key_file, null, 2) },
  });
}

export function shownOncePanel(options: PanelOptions): SecretPanel {
  // Only these plain values are kept by the panel's handlers, never the answer object itself.
  let values: Map<string, string> | null = new Map(options.rows.map((r) => [r.name, r.value]));
  let file: string | null = options.download?.content ?? null;
  let saved = false;
  const disposers: (() => void)[] = [];

  const row = (spec: PanelRow) => {
    const value = () => values?.get(spec.name) ?? '';
    const shown = h('code', { class: 'secret-value', 'data-field': spec.name }, spec.secret ? MASK : value());
    const copy = h('button', { type: 'button', class: 'button small', 'data-copy': spec.name }, 'Copy');
    let revealed = false;
    const label = spec.label.toLowerCase();
    const eye = spec.secret
      ? h('button', { type: 'button', class: 'button small', 'aria-pressed': 'false', 'data-reveal': spec.name, 'aria-label': `Show ${label}` }, 'Show')
      : null;
    eye?.addEventListener('click', () => {
      if (!values) return;
      revealed = !revealed;
      shown.textContent = revealed ? value() : MASK;
      eye.textContent = revealed ? 'Hide' : 'Show';
      eye.setAttribute('aria-pressed', String(revealed));
      eye.setAttribute('aria-label', `${revealed ? 'Hide' : 'Show'} ${label}`);
    });
    copy.addEventListener('click', async () => {
      if (!values) return;
      try {
        await navigator.clipboard.writeText(value());
        if (spec.secret) saved = true;
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Copy failed: select the text';
      }
    });
    disposers.push(() => {
      shown.textContent = '';
      shown.remove();
    });
    return h('div', { class: 'secret-row' }, h('span', { class: 'secret-label' }, spec.label), shown, h('span', { class: 'secret-buttons' }, eye, copy));
  };

  let download: HTMLButtonElement | null = null;
  if (options.download) {
    const { label, filename } = options.download;
    download = h('button', { type: 'button', class: 'button' }, label);
    download.addEventListener('click', () => {
      if (file === null) return;
      const url = URL.createObjectURL(new Blob([file], { type: 'application/json' }));
      const link = h('a', { href: url, download: filename, class: 'hidden' });
      document.body.appendChild(link);
      link.click();
      link.remove();
      // The object URL holds the secret: released as soon as the download has started.
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      saved = true;
    });
  }

  const nodes: Node[] = [h('p', { class: 'warning', role: 'alert' }, options.warning), h('div', { class: 'secret-list' }, ...options.rows.map(row))];
  if (download) nodes.push(h('p', {}, download));

  return {
    nodes,
    saved: () => saved,
    dispose() {
      for (const dispose of disposers) dispose();
      disposers.length = 0;
      values = null;
      file = null;
      for (const node of nodes) (node as Element).remove?.();
    },
  };
}
