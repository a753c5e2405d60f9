// The not-found page: for an unknown address, and for an id the API answers 404 for (it does not
// exist, or lies outside the account the session works in: the two look the same).
import { h } from '../dom.ts';

export function renderNotFound(main: HTMLElement): void {
  document.title = 'Not found · Keygate';
  main.replaceChildren(
    h('div', { class: 'card' }, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/console/', 'data-link': true }, 'Back to the API keys'))),
  );
}
