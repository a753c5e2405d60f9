// Sign in with email and password. The server answers the same for an unknown email, a wrong
// password and a disabled user; too many failures answer 429 with the wait.
import { ApiError, describeError } from '../api.ts';
import { field, h } from '../dom.ts';
import { navigate } from '../router.ts';
import { signIn } from '../session.ts';

export function signInPage(main: HTMLElement, notice?: string): void {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in to Keygate'),
    notice ? h('p', { class: 'notice' }, notice) : null,
    field('Email', email),
    field('Password', password),
    error,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await signIn(email.value.trim(), password.value);
      password.value = '';
      navigate('/console/', { replace: true });
    } catch (failure) {
      password.value = '';
      error.textContent =
        failure instanceof ApiError && failure.status === 401
          ? 'Wrong email or password.'
          : failure instanceof ApiError && failure.status === 429
            ? `Too many failed sign-ins. Try again in ${failure.retryAfter ?? 'a few'} seconds.`
            : describeError(failure);
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  email.focus();
}
