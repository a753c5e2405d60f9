// The dialog around a shown-once secret: closing before the secret was copied or downloaded asks
// first; closing for good disposes of the secret (see secret-panel.ts).
import { h } from '../dom.ts';
import type { CreatedKey } from '../types.ts';
import { confirmDialog, openDialog, type OpenDialog } from './dialog.ts';
import { secretPanel, type SecretPanel } from './secret-panel.ts';

/** Guards a dialog that may hold a secret panel; `panel()` is read when the user tries to close. */
export function secretCloseGuard(panel: () => SecretPanel | null, close: () => void): () => boolean {
  return () => {
    const current = panel();
    if (!current || current.saved()) return true;
    void confirmDialog({
      title: 'Close without saving the secret?',
      message: 'You have not copied the secret (or downloaded its file). Once closed, the secret cannot be shown again.',
      confirm: 'Close anyway',
      danger: true,
    }).then((yes) => {
      if (yes) close();
    });
    return false;
  };
}

export function showCreatedKey(created: CreatedKey, title: string, onDone: () => void): void {
  showSecretDialog(title, `Key "${created.key.name}" is ready.`, secretPanel(created), onDone);
}

/** A dialog around any shown-once panel; closing for good disposes of the panel. */
export function showSecretDialog(title: string, intro: string, shown: SecretPanel, onDone: () => void): void {
  let panel: SecretPanel | null = shown;
  let dialog: OpenDialog | null = null;
  const accept = h('button', { type: 'button', class: 'button primary' }, 'Accept and close');
  dialog = openDialog({
    title,
    wide: true,
    body: [h('p', {}, intro), ...panel.nodes],
    actions: [accept],
    beforeClose: secretCloseGuard(
      () => panel,
      () => dialog?.close(),
    ),
    onClose: () => {
      panel?.dispose();
      panel = null;
      dialog = null;
      onDone();
    },
  });
  accept.addEventListener('click', () => {
    if (
      secretCloseGuard(
        () => panel,
        () => dialog?.close(),
      )()
    )
      dialog?.close();
  });
}
