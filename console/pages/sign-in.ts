// Sign in with email and password. The server answers the same for an unknown email, a wrong
// password and a disabled user; too many failures answer 429 with the wait. A person with
// two-factor on is then asked for the code from their app (or a recovery code); the server keeps
// the waiting sign-in in an HttpOnly cookie, so nothing of it is held here.
import { ApiError, describeError } from '../api.ts';
import { field, h } from '../dom.ts';
import { navigate } from '../router.ts';
import { signIn, submitSecondFactor } from '../session.ts';

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
      const session = await signIn(email.value.trim(), password.value);
      password.value = '';
      if (session) navigate('/console/', { replace: true });
      else secondFactorStep(main);
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

/** The second step: a six-digit code from the app, or a recovery code. */
function secondFactorStep(main: HTMLElement): void {
  const code = h('input', { type: 'text', name: 'code', autocomplete: 'one-time-code', inputmode: 'text', spellcheck: 'false', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Verify');
  const form = h(
    'form',
    { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Two-factor sign-in'),
    h('p', {}, 'Enter the 6-digit code your authenticator app shows for Keygate, or one of your recovery codes.'),
    field('Authentication code', code, 'A recovery code works once.'),
    error,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const typed = code.value.trim();
    if (!typed) {
      error.textContent = 'Enter a code.';
      code.focus();
      return;
    }
    submit.disabled = true;
    try {
      await submitSecondFactor(typed);
      navigate('/console/', { replace: true });
    } catch (failure) {
      code.value = '';
      if (failure instanceof ApiError && failure.code === 'unauthorized') {
        signInPage(main, 'The sign-in has ended (too many wrong codes, or it took too long). Sign in again.');
        return;
      }
      error.textContent =
        failure instanceof ApiError && failure.status === 401
          ? 'Wrong code, or it was already used.'
          : failure instanceof ApiError && failure.status === 429
            ? `Too many wrong codes. Try again in ${failure.retryAfter ?? 'a few'} seconds.`
            : describeError(failure);
      code.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  code.focus();
}
