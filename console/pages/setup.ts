// The one-time set-up link: /console/setup#token=…. The token is read from the fragment (which the
// browser never sends to any server) and the fragment is removed from the address bar at once, so
// it does not stay in history. Then the user chooses a password and signs in.
import { ApiError, describeError, post } from '../api.ts';
import { field, h, setFieldError } from '../dom.ts';
import { navigate } from '../router.ts';
import { signIn } from '../session.ts';
import type { SessionUser } from '../types.ts';

const MIN_PASSWORD = 12;

let setupToken: string | null = null;

/** Takes the token out of the address bar once, on the first render of the page. */
function takeToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  if (token) {
    setupToken = token;
    history.replaceState(null, '', location.pathname);
  }
  return setupToken;
}

export function setupPage(main: HTMLElement): void {
  const token = takeToken();
  if (!token) {
    main.replaceChildren(
      h(
        'div',
        { class: 'card narrow' },
        h('h1', {}, 'Set up your account'),
        h('p', {}, 'This page needs the set-up link printed by `keygate bootstrap` or `keygate users invite`. Open that link exactly as printed.'),
      ),
    );
    return;
  }
  const password = h('input', { type: 'password', name: 'new-password', autocomplete: 'new-password', required: true, minlength: MIN_PASSWORD });
  const again = h('input', { type: 'password', name: 'confirm-password', autocomplete: 'new-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Set password and sign in');
  const form = h(
    'form',
    { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Set up your account'),
    field('New password', password, `At least ${MIN_PASSWORD} characters; common passwords are refused.`),
    field('Repeat the password', again),
    error,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    setFieldError(password, password.value.length < MIN_PASSWORD ? `At least ${MIN_PASSWORD} characters` : '');
    setFieldError(again, again.value !== password.value ? 'The two passwords differ' : '');
    if (password.value.length < MIN_PASSWORD || again.value !== password.value) return;
    submit.disabled = true;
    try {
      const { user } = await post<{ user: SessionUser }>('/console/api/setup', { token, password: password.value });
      await signIn(user.email, password.value);
      setupToken = null;
      password.value = '';
      again.value = '';
      navigate('/console/', { replace: true });
    } catch (failure) {
      error.textContent = failure instanceof ApiError && failure.details.length === 0 && failure.status === 400 ? failure.message : describeError(failure);
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  password.focus();
}
