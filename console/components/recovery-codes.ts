// Recovery codes, shown once: listed, with Copy all and a text file to download. Like every
// shown-once secret (secret-panel.ts), they live only in this panel's nodes and closure, never in
// browser storage, and `dispose` removes them from the page when the dialog closes.
import { h } from '../dom.ts';
import type { SecretPanel } from './secret-panel.ts';
import { showSecretDialog } from './secret-dialog.ts';

export function recoveryCodesPanel(codes: readonly string[], account: string): SecretPanel {
  let text: string | null = `Keygate recovery codes for ${account}\nEach works once, in place of a code from your app.\n\n${codes.join('\n')}\n`;
  let saved = false;
  const list = h('ol', { class: 'recovery-codes', 'data-field': 'recovery-codes' }, ...codes.map((code) => h('li', {}, h('code', {}, code))));
  const copy = h('button', { type: 'button', class: 'button small', 'data-copy': 'recovery-codes' }, 'Copy all');
  copy.addEventListener('click', async () => {
    if (text === null) return;
    try {
      await navigator.clipboard.writeText(text);
      saved = true;
      copy.textContent = 'Copied';
    } catch {
      copy.textContent = 'Copy failed: select the codes';
    }
  });
  const download = h('button', { type: 'button', class: 'button small' }, 'Download');
  download.addEventListener('click', () => {
    if (text === null) return;
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const link = h('a', { href: url, download: 'keygate-recovery-codes.txt', class: 'hidden' });
    document.body.appendChild(link);
    link.click();
    link.remove();
    // The object URL holds the codes: released as soon as the download has started.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    saved = true;
  });
  const nodes: Node[] = [
    h(
      'p',
      { class: 'warning', role: 'alert' },
      'Save these recovery codes now: you will not see them again. Each one signs you in once if you lose your phone.',
    ),
    list,
    h('p', { class: 'secret-buttons' }, copy, download),
  ];
  return {
    nodes,
    saved: () => saved,
    dispose() {
      text = null;
      list.replaceChildren();
      for (const node of nodes) (node as Element).remove?.();
    },
  };
}

export function showRecoveryCodes(codes: readonly string[], account: string, onDone: () => void): void {
  showSecretDialog('Your recovery codes', 'Keep them somewhere safe, apart from your phone.', recoveryCodesPanel(codes, account), onDone);
}
