// Modal dialogs on <dialog>: the browser traps focus and closes on Escape; focus returns to the
// control that opened it. `beforeClose` may veto a close (the shown-once secret dialog does).
import { h } from '../dom.ts';

export interface DialogOptions {
  title: string;
  body: Node[];
  actions?: Node[];
  tone?: 'danger';
  wide?: boolean;
  beforeClose?: () => boolean;
  onClose?: () => void;
}

export interface OpenDialog {
  element: HTMLDialogElement;
  close(): void;
}

export function openDialog(options: DialogOptions): OpenDialog {
  const opener = document.activeElement as HTMLElement | null;
  const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
  const closeButton = h('button', { type: 'button', class: 'icon-button dialog-x', 'aria-label': 'Close' }, '×');
  const element = h(
    'dialog',
    { class: ['dialog', options.tone === 'danger' ? 'dialog-danger' : '', options.wide ? 'dialog-wide' : ''].join(' ').trim(), 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, options.title), closeButton),
    h('div', { class: 'dialog-body' }, ...options.body),
    options.actions ? h('div', { class: 'dialog-actions' }, ...options.actions) : null,
  );
  let closed = false;
  const close = (force = false) => {
    if (closed) return;
    if (!force && options.beforeClose && !options.beforeClose()) return;
    closed = true;
    element.close();
    element.remove();
    options.onClose?.();
    opener?.focus?.();
  };
  closeButton.addEventListener('click', () => close());
  element.addEventListener('cancel', (event) => {
    event.preventDefault(); // Escape: close through the same veto as the × button
    close();
  });
  document.body.appendChild(element);
  element.showModal();
  const first = element.querySelector<HTMLElement>('[autofocus], input, select, textarea, button:not(.dialog-x)');
  first?.focus();
  return { element, close: () => close(true) };
}

/** Yes/no, resolved when the user answers; the confirm button names the action. */
export function confirmDialog(options: { title: string; message: Node[] | string; confirm: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const yes = h('button', { type: 'button', class: options.danger ? 'button danger' : 'button primary' }, options.confirm);
    const no = h('button', { type: 'button', class: 'button' }, 'Cancel');
    const dialog = openDialog({
      title: options.title,
      tone: options.danger ? 'danger' : undefined,
      body: typeof options.message === 'string' ? [h('p', {}, options.message)] : options.message,
      actions: [no, yes],
      onClose: () => {
        if (!answered) resolve(false);
      },
    });
    no.focus();
    yes.addEventListener('click', () => {
      answered = true;
      dialog.close();
      resolve(true);
    });
    no.addEventListener('click', () => dialog.close());
  });
}
