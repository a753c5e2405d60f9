// People sign in through the console: the set-up link printed by `keygate bootstrap` sets the
// first admin's password; a wrong password, a lockout, signing out and an idle session each end
// where they should.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeViolations,
  completeSetup,
  launchChromium,
  newDatabase,
  openConsole,
  signInAs,
  startConsoleServer,
  type ConsoleServer,
} from '../support/browser.ts';

const ADMIN_EMAIL = 'first-admin@example.test';
const PASSWORD = 'a long console passphrase 7';

describe('signing in to the console', () => {
  let databaseUrl: string;
  let server: ConsoleServer;
  let browser: Browser;
  let setupLink: string;

  beforeAll(async () => {
    databaseUrl = await newDatabase();
    server = await startConsoleServer({ KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT: '3' }, databaseUrl);
    setupLink = (await server.cli('bootstrap', '--admin-email', ADMIN_EMAIL)).setup_link.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('opens the set-up link, drops the token from the address bar, sets the password and signs the first admin in', async () => {
    expect(setupLink).toMatch(new RegExp(`^${server.origin}/console/setup#token=`));
    const { page, context, cspViolations } = await openConsole(browser, server);
    await page.goto(setupLink);
    await page.getByLabel('New password').waitFor();
    expect(page.url()).toBe(`${server.origin}/console/setup`);
    expect(await axeViolations(page)).toEqual([]);

    await page.getByLabel('New password').fill('short');
    await page.getByLabel('Repeat the password').fill('short');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect.poll(() => page.locator('#main').textContent()).toContain('At least 12 characters');

    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    expect(await page.locator('header').textContent()).toContain(ADMIN_EMAIL);
    expect(await page.locator('[data-role]').textContent()).toBe('admin');
    expect(cspViolations).toEqual([]);
    // No secret of the session in browser storage: the cookie is HttpOnly, the CSRF token in memory.
    expect(
      await page.evaluate(() => JSON.stringify({ ...(globalThis as any).localStorage }) + JSON.stringify({ ...(globalThis as any).sessionStorage })),
    ).not.toMatch(/csrf|session|token/i);
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe('');
    await context.close();
  });

  it('refuses a used set-up link', async () => {
    const { page, context } = await openConsole(browser, server);
    await page.goto(setupLink);
    await page.getByLabel('New password').fill('another passphrase 12345');
    await page.getByLabel('Repeat the password').fill('another passphrase 12345');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/not valid/);
    await context.close();
  });

  it('says "wrong email or password" for a wrong password and for an unknown email alike', async () => {
    const { page, context } = await openConsole(browser, server);
    for (const [email, password] of [
      [ADMIN_EMAIL, 'not the password at all'],
      ['nobody@example.test', PASSWORD],
    ]) {
      await page.goto('/console/sign-in');
      await page.getByLabel('Email').fill(email!);
      await page.getByLabel('Password').fill(password!);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.locator('.form-error').textContent()).toBe('Wrong email or password.');
      expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    }
    await context.close();
  });

  it('locks an email out after repeated failures from one source, even with the right password, and says when to retry', async () => {
    const invited = await server.cli('users', 'invite', '--email', 'locked@example.test', '--role', 'viewer');
    const { page, context } = await openConsole(browser, server);
    await completeSetup(page, invited.setup_link.url, PASSWORD);
    await context.clearCookies();
    for (let i = 0; i < 3; i += 1) {
      await page.goto('/console/sign-in');
      await page.getByLabel('Email').fill('locked@example.test');
      await page.getByLabel('Password').fill(`wrong password number ${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.locator('.form-error').textContent()).toBe('Wrong email or password.');
    }
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('.form-error').textContent()).toMatch(/^Too many failed sign-ins\. Try again in \d+ seconds\.$/);
    // The lock is on that email from this source, not on everybody.
    await signInAs(page, ADMIN_EMAIL, PASSWORD);
    await context.close();
  });

  it('signs out: the session is gone on the server, and the pages send to sign-in', async () => {
    const { page, context } = await openConsole(browser, server);
    await signInAs(page, ADMIN_EMAIL, PASSWORD);
    expect((await page.request.get('/console/api/session')).status()).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Keygate' }).waitFor();
    expect((await page.request.get('/console/api/session')).status()).toBe(401);
    await page.goto('/console/');
    await page.getByRole('heading', { name: 'Sign in to Keygate' }).waitFor();
    await context.close();
  });

  it('ends an idle session: the next action lands on sign-in with a notice', async () => {
    const idle = await startConsoleServer({ KEYGATE_SESSION_IDLE_SECONDS: '2' }, databaseUrl);
    try {
      const { page, context } = await openConsole(browser, idle);
      await signInAs(page, ADMIN_EMAIL, PASSWORD);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await page.getByRole('button', { name: /disabled/ }).click();
      await page.getByRole('heading', { name: 'Sign in to Keygate' }).waitFor();
      expect(await page.locator('.notice').textContent()).toBe('Your session has ended. Sign in again.');
      expect((await page.request.get('/console/api/session')).status()).toBe(401);
      await context.close();
    } finally {
      await idle.stop();
    }
  });
});
