// /console/account/two-factor: the person's own two-factor sign-in. Setting it up shows a QR code
// (drawn here from the modules the server sends) and the key as text for typing by hand, and turns
// two-factor on only with a code from the app; the recovery codes are then shown once. Turning it
// off and new recovery codes need a code. An admin also finds here their tenant's setting that
// requires two-factor of admins and managers. Every rule is the server's; this page only asks.
import { ApiError, describeError, get, patch, post } from '../api.ts';
import { openDialog } from '../components/dialog.ts';
import { qrCodeImage } from '../components/qr-code.ts';
import { showRecoveryCodes } from '../components/recovery-codes.ts';
import { date } from '../format.ts';
import { field, h, setFieldError, toast } from '../dom.ts';
import { navigate } from '../router.ts';
import { activeTenantId, currentUser, loadSession, mustEnrolTwoFactor } from '../session.ts';
import type { Tenant, TwoFactorEnrolment, TwoFactorStatus } from '../types.ts';

const PAGE = '/console/account/two-factor';

export async function twoFactorPage(main: HTMLElement): Promise<void> {
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let status: TwoFactorStatus;
  try {
    status = (await get<{ two_factor: TwoFactorStatus }>('/console/api/two-factor')).two_factor;
  } catch (failure) {
    main.replaceChildren(
      h('div', { class: 'card' }, h('h1', {}, 'Two-factor sign-in'), h('p', { class: 'form-error', role: 'alert' }, describeError(failure))),
    );
    return;
  }
  const card = h('section', { class: 'card', 'aria-labelledby': 'two-factor-title' }, h('h1', { id: 'two-factor-title' }, 'Two-factor sign-in'));
  if (status.enabled) card.append(...enabledView(status));
  else card.append(...disabledView(status, card));
  main.replaceChildren(card);
  // The requirement shown is the one of the account the session works in (switched into, or its own).
  const tenantId = activeTenantId();
  if (currentUser()?.role === 'admin' && !mustEnrolTwoFactor() && tenantId) main.append(await tenantSetting(tenantId));
}

/** Re-reads the session (enrolling may lift its limit) and renders the page again. */
async function reload(): Promise<void> {
  await loadSession();
  navigate(PAGE, { replace: true });
}

function disabledView(status: TwoFactorStatus, card: HTMLElement): Node[] {
  const start = h('button', { type: 'button', class: 'button primary' }, 'Set up two-factor sign-in');
  const error = h('p', { class: 'form-error', role: 'alert' });
  start.addEventListener('click', async () => {
    error.textContent = '';
    start.disabled = true;
    try {
      const { enrolment } = await post<{ enrolment: TwoFactorEnrolment }>('/console/api/two-factor/enrolment');
      card.replaceChildren(card.firstChild!, ...enrolmentView(enrolment));
    } catch (failure) {
      error.textContent = describeError(failure);
      start.disabled = false;
    }
  });
  return [
    status.required
      ? h(
          'p',
          { class: 'notice', 'data-notice': 'two-factor-required' },
          'Your tenant requires two-factor sign-in for your role. Set it up to continue using the console.',
        )
      : null,
    h('p', {}, 'Two-factor sign-in is off. With it on, signing in needs a code from an authenticator app on your phone as well as your password.'),
    error,
    h('p', {}, start),
  ].filter((node) => node !== null);
}

function enrolmentView(enrolment: TwoFactorEnrolment): Node[] {
  const grouped = enrolment.secret.match(/.{1,4}/g)!.join(' ');
  const code = h('input', { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Turn on two-factor');
  const form = h('form', { class: 'enrol-form', novalidate: true }, field('Code from the app', code, 'Six digits; a new one every 30 seconds.'), error, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    setFieldError(code, '');
    submit.disabled = true;
    try {
      const { recovery_codes } = await post<{ recovery_codes: string[] }>('/console/api/two-factor/enrolment/confirm', { code: code.value.trim() });
      toast('Two-factor sign-in is on');
      showRecoveryCodes(recovery_codes, enrolment.account, () => void reload());
    } catch (failure) {
      if (failure instanceof ApiError && failure.details.some((d) => d.field === 'code')) {
        setFieldError(code, 'That code does not match: check that the time on your phone is right and type the code shown now.');
      } else error.textContent = describeError(failure);
      code.focus();
    } finally {
      submit.disabled = false;
    }
  });
  setTimeout(() => code.focus());
  return [
    h('h2', {}, '1. Add Keygate to your authenticator app'),
    h('p', {}, 'Scan this QR code with the app (any app for time-based codes: Google Authenticator, Microsoft Authenticator, 1Password, …).'),
    qrCodeImage(enrolment.qr_code, `QR code that adds Keygate for ${enrolment.account} to an authenticator app`),
    h('p', {}, 'Cannot scan it? Enter this key in the app instead (time-based, 6 digits, 30 seconds):'),
    h('p', {}, h('code', { class: 'secret-value', 'data-field': 'two-factor-secret' }, grouped)),
    h('h2', {}, '2. Type the code the app shows'),
    form,
  ];
}

function enabledView(status: TwoFactorStatus): Node[] {
  const regenerate = h('button', { type: 'button', class: 'button' }, 'New recovery codes');
  const disable = h('button', { type: 'button', class: 'button danger' }, 'Turn off two-factor');
  regenerate.addEventListener('click', () =>
    codeDialog({
      title: 'New recovery codes',
      intro: 'Your current recovery codes stop working once the new ones are made.',
      confirm: 'Make new codes',
      async send(code) {
        const { recovery_codes } = await post<{ recovery_codes: string[] }>('/console/api/two-factor/recovery-codes', { code });
        showRecoveryCodes(recovery_codes, currentUser()?.email ?? '', () => void reload());
      },
    }),
  );
  disable.addEventListener('click', () =>
    codeDialog({
      title: 'Turn off two-factor sign-in',
      intro: status.required
        ? 'Your tenant requires two-factor for your role: with it off, you can only set it up again.'
        : 'Signing in will need only your password.',
      confirm: 'Turn off',
      danger: true,
      async send(code) {
        await post<void>('/console/api/two-factor/disable', { code });
        toast('Two-factor sign-in is off');
        await reload();
      },
    }),
  );
  return [
    h('p', {}, `Two-factor sign-in is on (since ${date(status.enabled_at)}). Signing in asks for a code from your authenticator app.`),
    h('p', { 'data-field': 'recovery-codes-left' }, `Recovery codes left: ${status.recovery_codes_left} of 10.`),
    status.recovery_codes_left <= 3 ? h('p', { class: 'warning' }, 'Few recovery codes left: make new ones.') : null,
    h('p', {}, regenerate, ' ', disable),
  ].filter((node) => node !== null);
}

/** A dialog asking for a code from the app (or a recovery code) before a change. */
function codeDialog(options: { title: string; intro: string; confirm: string; danger?: boolean; send(code: string): Promise<void> }): void {
  const code = h('input', { type: 'text', name: 'code', autocomplete: 'one-time-code', spellcheck: 'false', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const confirm = h('button', { type: 'submit', class: options.danger ? 'button danger' : 'button primary', form: 'code-dialog-form' }, options.confirm);
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = h('form', { id: 'code-dialog-form', novalidate: true }, h('p', {}, options.intro), field('Code from your app, or a recovery code', code), error);
  const dialog = openDialog({ title: options.title, tone: options.danger ? 'danger' : undefined, body: [form], actions: [cancel, confirm] });
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    confirm.disabled = true;
    try {
      await options.send(code.value.trim());
      dialog.close();
    } catch (failure) {
      error.textContent =
        failure instanceof ApiError && failure.details.some((d) => d.field === 'code')
          ? 'Wrong code, or it was already used.'
          : failure instanceof ApiError && failure.status === 429
            ? `Too many wrong codes. Try again in ${failure.retryAfter ?? 'a few'} seconds.`
            : describeError(failure);
      code.value = '';
      code.focus();
    } finally {
      confirm.disabled = false;
    }
  });
}

/** The tenant's requirement, for an admin: changed through the admin tenants API, which decides who may. */
async function tenantSetting(tenantId: string): Promise<HTMLElement> {
  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'tenant-two-factor-title' },
    h('h2', { id: 'tenant-two-factor-title' }, 'Require two-factor'),
  );
  let tenant: Tenant;
  try {
    tenant = (await get<{ tenant: Tenant }>(`/admin/v1/tenants/${encodeURIComponent(tenantId)}`)).tenant;
  } catch (failure) {
    section.append(h('p', { class: 'form-error', role: 'alert' }, describeError(failure)));
    return section;
  }
  // A tenant's policy is set by its parent (the API refuses otherwise); only a top-level tenant sets its own here.
  const fromAbove = tenant.parent_id !== null && tenant.parent_id !== undefined;
  const box = h('input', { type: 'checkbox', id: 'require-two-factor', checked: tenant.require_two_factor === true, disabled: fromAbove });
  const error = h('p', { class: 'form-error', role: 'alert' });
  box.addEventListener('change', async () => {
    error.textContent = '';
    box.disabled = true;
    try {
      await patch<{ tenant: Tenant }>(`/admin/v1/tenants/${encodeURIComponent(tenantId)}`, { require_two_factor: box.checked });
      toast(box.checked ? 'Two-factor is now required of admins and managers' : 'Two-factor is no longer required here');
      // Turning it on limits this very session if its person has no two-factor yet.
      await reload();
    } catch (failure) {
      box.checked = !box.checked;
      error.textContent = describeError(failure);
    } finally {
      box.disabled = false;
    }
  });
  section.append(
    h(
      'div',
      { class: 'check-field' },
      box,
      h('label', { for: 'require-two-factor' }, `Require two-factor sign-in for admins and managers of ${tenant.name} and every tenant below it`),
    ),
    h(
      'p',
      { class: 'hint' },
      fromAbove
        ? 'Your parent tenant sets this for your tenant.'
        : 'Those without it can only set it up until they have. Tenants below may only require more, never less.',
    ),
    error,
  );
  return section;
}
