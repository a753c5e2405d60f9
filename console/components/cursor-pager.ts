// Keyset paging: `cursors` holds the cursor of every page seen so far, the last one naming the page
// shown. Going back drops the last; going forward adds the page's next cursor. Either reloads.
import { h } from '../dom.ts';

export function renderCursorPager(
  target: HTMLElement,
  cursors: (string | null)[],
  nextCursor: string | null,
  labels: { back: string; forward: string },
  reload: () => void,
): void {
  const back = h('button', { type: 'button', class: 'button', disabled: cursors.length <= 1 }, labels.back);
  const forward = h('button', { type: 'button', class: 'button', disabled: !nextCursor }, labels.forward);
  back.addEventListener('click', () => {
    cursors.pop();
    reload();
  });
  forward.addEventListener('click', () => {
    cursors.push(nextCursor);
    reload();
  });
  target.replaceChildren(back, h('span', { class: 'muted' }, `Page ${cursors.length}`), forward);
}
