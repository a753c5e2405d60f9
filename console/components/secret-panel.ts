// The shown-once secret: client ID, the secret masked behind an eye, the API key string, the token
// URL, a copy button for each, and the key file to download. The secret lives only in this panel's
// closure and in the nodes it built; `dispose` empties and detaches those nodes and drops the
// references, so nothing of it is left in the page once its dialog closes.
import { h } from '../dom.ts';
import type { CreatedKey } from '../types.ts';

export interface SecretPanel {
  nodes: Node[];
  /** True once the secret (or the API key holding it) was copied or the key file downloaded. */
  saved(): boolean;
  dispose(): void;
}

const MASK = '••••••••••••••••••••••••';

export function secretPanel(created: CreatedKey): SecretPanel {
  // Only these plain values are kept by the panel's handlers, never the answer object itself.
  const clientId = created.key.client_id;
  const tokenUrl = created.key_file.token_url;
  let secrets: { clientSecret: string; apiKey: string; keyFile: string } | null = {
    clientSecret: created.client_secret,
    apiKey: created.api_key,
    keyFile: JSON.stringify(created.key_file, null, 2),
  };
  let saved = false;
  const disposers: (() => void)[] = [];

  const row = (label: string, value: () => string, options: { secret?: boolean; name: string }) => {
    const shown = h('code', { class: 'secret-value', 'data-field': options.name }, options.secret ? MASK : value());
    const copy = h('button', { type: 'button', class: 'button small', 'data-copy': options.name }, 'Copy');
    let revealed = false;
    const eye = options.secret
      ? h(
          'button',
          { type: 'button', class: 'button small', 'aria-pressed': 'false', 'data-reveal': options.name, 'aria-label': `Show ${label.toLowerCase()}` },
          'Show',
        )
      : null;
    eye?.addEventListener('click', () => {
      if (!secrets) return;
      revealed = !revealed;
      shown.textContent = revealed ? value() : MASK;
      eye.textContent = revealed ? 'Hide' : 'Show';
      eye.setAttribute('aria-pressed', String(revealed));
      eye.setAttribute('aria-label', `${revealed ? 'Hide' : 'Show'} ${label.toLowerCase()}`);
    });
    copy.addEventListener('click', async () => {
      if (!secrets) return;
      try {
        await navigator.clipboard.writeText(value());
        if (options.secret) saved = true;
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Copy failed: select the text';
      }
    });
    disposers.push(() => {
      shown.textContent = '';
      shown.remove();
    });
    return h('div', { class: 'secret-row' }, h('span', { class: 'secret-label' }, label), shown, h('span', { class: 'secret-buttons' }, eye, copy));
  };

  const download = h('button', { type: 'button', class: 'button' }, 'Download key file');
  download.addEventListener('click', () => {
    if (!secrets) return;
    const url = URL.createObjectURL(new Blob([secrets.keyFile], { type: 'application/json' }));
    const link = h('a', { href: url, download: `keygate-${clientId}.json`, class: 'hidden' });
    document.body.appendChild(link);
    link.click();
    link.remove();
    // The object URL holds the secret: released as soon as the download has started.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    saved = true;
  });

  const nodes: Node[] = [
    h('p', { class: 'warning', role: 'alert' }, 'Copy the secret or download the key file now: you will not see this secret again.'),
    h(
      'div',
      { class: 'secret-list' },
      row('Client ID', () => clientId, { name: 'client_id' }),
      row('Secret', () => secrets?.clientSecret ?? '', { secret: true, name: 'client_secret' }),
      row('API key', () => secrets?.apiKey ?? '', { secret: true, name: 'api_key' }),
      row('Token URL', () => tokenUrl, { name: 'token_url' }),
    ),
    h('p', {}, download),
  ];

  return {
    nodes,
    saved: () => saved,
    dispose() {
      for (const dispose of disposers) dispose();
      disposers.length = 0;
      secrets = null;
      for (const node of nodes) (node as Element).remove?.();
    },
  };
}
