// Two-factor sign-in in Chromium against a real server: enrol from the two-factor page (the test
// reads the key from the page's manual-entry text and computes codes with Keygate's RFC 6238 code,
// which the unit tests hold to the RFC's vectors), sign out and in with password + code, a
// recovery code once and never again, the tenant setting that sends an admin or manager without
// two-factor to enrolment, and wrong codes until 429. axe-core on every page and dialog.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base32Decode, totpCode } from '../../src/crypto/totp.ts';
import { axeViolations, launchChromium, openConsole, startConsoleServer, type ConsoleServer } from '../support/browser.ts';
import { awayFromWindowEdge } from '../support/windows.ts';

const PASSWORD = 'a long console passphrase 7';
const ADMIN_EMAIL = 'two-factor-admin@example.test';

/** The code of `secret` for `offsetSteps` 30-second steps from now. */
const codeOf = (secret: string, offsetSteps = 0) => totpCode(base32Decode(secret)!, Date.now() + offsetSteps * 30_000);

const storage = (page: Page) =>
  page.evaluate(() => JSON.stringify({ ...(globalThis as any).localStorage }) + JSON.stringify({ ...(globalThis as any).sessionStorage }));

async function signInWithPassword(page: Page, email: string): Promise<void> {
  await page.goto('/console/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function setPasswordThroughLink(page: Page, link: string): Promise<void> {
  await page.goto(link);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
}

/** Enrols from the two-factor page; returns the key read from the page and the recovery codes shown. */
async function enrolOnPage(page: Page): Promise<{ secret: string; recoveryCodes: string[] }> {
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  await page.getByRole('img', { name: /QR code/ }).waitFor();
  expect(await axeViolations(page)).toEqual([]);
  const secret = (await page.locator('[data-field="two-factor-secret"]').textContent())!.replace(/\s/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(await page.content()).not.toContain('otpauth');
  // A code of the previous step: the later sign-ins use the current one and the next.
  await page.getByLabel('Code from the app').fill(codeOf(secret, -1));
  await page.getByRole('button', { name: 'Turn on two-factor' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your recovery codes' });
  await dialog.waitFor();
  expect(await axeViolations(page)).toEqual([]);
  const recoveryCodes = await dialog.locator('[data-field="recovery-codes"] li').allTextContents();
  expect(recoveryCodes).toHaveLength(10);
  await dialog.getByRole('button', { name: 'Copy all' }).click();
  expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toContain(recoveryCodes[0]);
  expect(await storage(page)).not.toContain(recoveryCodes[0]);
  expect(await storage(page)).not.toContain(secret);
  await dialog.getByRole('button', { name: 'Accept and close' }).click();
  await page.locator('[data-field="recovery-codes-left"]').waitFor();
  // Gone from the page once the dialog is closed.
  const html = await page.content();
  expect(html).not.toContain(recoveryCodes[0]);
  expect(html).not.toContain(secret.slice(0, 8));
  return { secret, recoveryCodes };
}

async function typeSecondFactor(page: Page, code: string): Promise<void> {
  await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
  await page.getByLabel('Authentication code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Keygate' }).waitFor();
}

describe('two-factor sign-in in the console', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let secret: string;
  let recoveryCodes: string[];
  let managerSecret: string;

  beforeAll(async () => {
    server = await startConsoleServer({ KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT: '3' });
    const boot = await server.cli('bootstrap', '--admin-email', ADMIN_EMAIL);
    browser = await launchChromium();
    const { page, context } = await openConsole(browser, server);
    await setPasswordThroughLink(page, boot.setup_link.url);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await context.close();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('enrols from the page, then signs in with password and a computed code', async () => {
    await awayFromWindowEdge(30, 8);
    const { page, context, cspViolations } = await openConsole(browser, server);
    await signInWithPassword(page, ADMIN_EMAIL);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByRole('link', { name: ADMIN_EMAIL }).click();
    await page.getByRole('heading', { name: 'My account' }).waitFor();
    await page.getByRole('link', { name: 'Manage two-factor sign-in' }).click();
    await page.getByRole('heading', { name: 'Two-factor sign-in', level: 1 }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    ({ secret, recoveryCodes } = await enrolOnPage(page));
    expect(await page.locator('[data-field="recovery-codes-left"]').textContent()).toBe('Recovery codes left: 10 of 10.');
    expect(await axeViolations(page)).toEqual([]);

    await signOut(page);
    await signInWithPassword(page, ADMIN_EMAIL);
    await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    // No session yet: the API says so.
    expect((await page.request.get('/console/api/session')).status()).toBe(401);
    expect(await axeViolations(page)).toEqual([]);
    await typeSecondFactor(page, codeOf(secret));
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    expect((await page.request.get('/console/api/session')).status()).toBe(200);
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('a recovery code signs in once and is refused the second time', async () => {
    const { page, context } = await openConsole(browser, server);
    await signInWithPassword(page, ADMIN_EMAIL);
    await typeSecondFactor(page, recoveryCodes[0]!);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.goto('/console/account/two-factor');
    await expect.poll(() => page.locator('[data-field="recovery-codes-left"]').textContent()).toBe('Recovery codes left: 9 of 10.');
    // The dialogs that ask for a code before a change: accessible, and a wrong code is refused in place.
    for (const [button, title] of [
      ['New recovery codes', 'New recovery codes'],
      ['Turn off two-factor', 'Turn off two-factor sign-in'],
    ] as const) {
      await page.getByRole('button', { name: button }).click();
      const dialog = page.getByRole('dialog', { name: title });
      await dialog.waitFor();
      expect(await axeViolations(page)).toEqual([]);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
    }

    await signOut(page);
    await signInWithPassword(page, ADMIN_EMAIL);
    await typeSecondFactor(page, recoveryCodes[0]!);
    await expect.poll(() => page.locator('.form-error').textContent()).toBe('Wrong code, or it was already used.');
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await typeSecondFactor(page, recoveryCodes[1]!);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await context.close();
  });

  it('“require two-factor”: a manager without it is sent to enrolment and reaches nothing else until enrolled', async () => {
    await awayFromWindowEdge(30, 8);
    const admin = await openConsole(browser, server);
    await signInWithPassword(admin.page, ADMIN_EMAIL);
    await typeSecondFactor(admin.page, recoveryCodes[2]!);
    await admin.page.getByRole('heading', { name: 'API keys' }).waitFor();
    await admin.page.goto('/console/account/two-factor');
    const box = admin.page.getByLabel(/Require two-factor sign-in for admins and managers/);
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    await box.check();
    await expect.poll(() => admin.page.locator('.toast').first().textContent()).toContain('now required');
    await admin.page.getByLabel(/Require two-factor sign-in for admins and managers/).waitFor();
    expect(await admin.page.getByLabel(/Require two-factor sign-in for admins and managers/).isChecked()).toBe(true);
    expect(await axeViolations(admin.page)).toEqual([]);
    await admin.context.close();

    const invited = await server.cli('users', 'invite', '--email', 'manager-2fa@example.test', '--role', 'manager');
    const { page, context } = await openConsole(browser, server);
    await setPasswordThroughLink(page, invited.setup_link.url);
    await page.locator('[data-notice="two-factor-required"]').waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/account/two-factor');
    expect(await page.getByRole('link', { name: 'API keys' }).count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
    // Typing another address lands on enrolment again; the API refuses the session too.
    await page.goto('/console/');
    await page.locator('[data-notice="two-factor-required"]').waitFor();
    const refused = await page.request.get('/admin/v1/keys');
    expect(refused.status()).toBe(403);
    expect((await refused.json()).error.code).toBe('two_factor_enrolment_required');

    managerSecret = (await enrolOnPage(page)).secret;
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    expect((await page.request.get('/admin/v1/keys')).status()).toBe(200);
    await context.close();
  });

  it('a wrong code is refused, and after three from here the sign-in answers 429 with the wait, even for the right code', async () => {
    // The three failures must fall in one counting window.
    await awayFromWindowEdge(900, 30);
    const { page, context } = await openConsole(browser, server);
    await signInWithPassword(page, 'manager-2fa@example.test');
    for (const wrong of ['000000', '999999', 'aaaaa-bbbbb']) {
      await typeSecondFactor(page, wrong === codeOf(managerSecret) ? '123456' : wrong);
      await expect.poll(() => page.locator('.form-error').textContent()).toBe('Wrong code, or it was already used.');
    }
    await typeSecondFactor(page, codeOf(managerSecret, 1));
    await expect.poll(() => page.locator('.form-error').textContent()).toMatch(/^Too many wrong codes\. Try again in \d+ seconds\.$/);
    expect((await page.request.get('/console/api/session')).status()).toBe(401);
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });
});
