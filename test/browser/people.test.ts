// People in the console, in a real browser: an admin invites someone and the link signs them up; a
// role change reaches the demoted person's next click and their user key's next token; changing a
// password signs out the person's other browser; the dialogs name the keys a change touches; and
// every page and dialog here passes axe-core.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, completeSetup, launchChromium, openConsole, signInAs, startConsoleServer, type ConsoleServer } from '../support/browser.ts';

const PASSWORD = 'a long console passphrase 7';
const NEW_PASSWORD = 'another long passphrase 42';

/** A JSON request from inside the signed-in page, with the session's CSRF token, as the console sends it. */
function callFromPage(page: Page, method: string, path: string, body?: unknown) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session: any = await (await fetch('/console/api/session')).json();
      const response = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: response.status === 204 ? null : ((await response.json()) as any) };
    },
    { method, path, body },
  );
}

describe('people in the console', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let admin: Page;

  const signedIn = async (email: string, role: string) => {
    const invited = await server.cli('users', 'invite', '--email', email, '--role', role);
    const tab = await openConsole(browser, server);
    await completeSetup(tab.page, invited.setup_link.url, PASSWORD);
    return { ...tab, userId: invited.user_id as string };
  };

  const token = async (clientId: string, secret: string) => {
    const response = await fetch(`${server.origin}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    server = await startConsoleServer();
    const boot = await server.cli('bootstrap', '--admin-email', 'people-admin@example.test');
    browser = await launchChromium();
    admin = (await openConsole(browser, server)).page;
    await completeSetup(admin, boot.setup_link.url, PASSWORD);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('invite → set-up link shown once → the new user sets a password and is signed in', async () => {
    await admin.getByRole('link', { name: 'Users', exact: true }).click();
    await admin.getByRole('heading', { name: 'Users' }).waitFor();
    await admin.locator('tr', { hasText: 'people-admin@example.test' }).waitFor();
    expect(await axeViolations(admin)).toEqual([]);

    await admin.getByRole('button', { name: 'Invite user' }).click();
    const invite = admin.getByRole('dialog', { name: 'Invite a user' });
    await invite.getByLabel('Email').fill('newcomer@example.test');
    await invite.getByLabel('Name (optional)').fill('New Comer');
    await invite.getByLabel('Role').selectOption('member');
    expect(await axeViolations(admin)).toEqual([]);
    await invite.getByRole('button', { name: 'Invite' }).click();

    const shown = admin.getByRole('dialog', { name: 'Set-up link' });
    await shown.waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await shown.locator('[data-copy="setup_link"]').click();
    const link = await admin.evaluate(() => (globalThis as any).navigator.clipboard.readText());
    expect(link).toMatch(new RegExp(`^${server.origin}/console/setup#token=[A-Za-z0-9_-]{43}$`));
    await shown.getByRole('button', { name: 'Accept and close' }).click();
    const row = admin.locator('tr', { hasText: 'newcomer@example.test' });
    await row.waitFor();
    expect(await row.locator('td[data-label="Status"]').textContent()).toBe('invited');
    // The link is in no address and no storage of the admin's page.
    expect(admin.url()).not.toContain('token');
    expect(await admin.evaluate(() => JSON.stringify({ ...(globalThis as any).localStorage, ...(globalThis as any).sessionStorage }))).toBe('{}');

    const newcomer = (await openConsole(browser, server)).page;
    await completeSetup(newcomer, link, PASSWORD);
    await newcomer.getByRole('link', { name: 'newcomer@example.test' }).click();
    await newcomer.getByRole('heading', { name: 'My account' }).waitFor();
    await newcomer.locator('tr[data-session="current"]').waitFor();
    expect(await axeViolations(newcomer)).toEqual([]);
    expect(await newcomer.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0);
    await newcomer.context().close();
  });

  it('a manager demoted to viewer loses New key at the next click, and their user key’s next token loses the write scope', async () => {
    const manager = await signedIn('demoted@example.test', 'manager');
    await manager.page.getByRole('button', { name: 'New account key' }).waitFor();
    const made = await callFromPage(manager.page, 'POST', '/admin/v1/keys', {
      name: 'manager laptop',
      kind: 'user',
      user_id: manager.userId,
      scopes: ['devices:read', 'devices:write'],
    });
    expect(made.status).toBe(201);
    expect((await token(made.body.key.client_id, made.body.client_secret)).body.scope.split(' ').sort()).toEqual(['devices:read', 'devices:write']);

    await admin.goto(`/console/users/${manager.userId}`);
    await admin.getByRole('heading', { name: 'demoted@example.test' }).waitFor();
    await admin.locator(`tr[data-client-id="${made.body.key.client_id}"]`).waitFor();
    await admin.locator('tr[data-session="other"]').waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await admin.getByRole('button', { name: 'Change role' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Change the role of demoted@example.test' });
    await dialog.getByLabel('New role').selectOption('viewer');
    await dialog.getByText('loses devices:write at its next token').waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await dialog.waitFor({ state: 'detached' });
    await admin.locator('.badge.role', { hasText: 'viewer' }).first().waitFor();

    // The demoted person's next click: no New key button, and a forged create is refused.
    await manager.page.getByRole('link', { name: 'Scope catalogue' }).click();
    await manager.page.getByRole('heading', { name: 'Scope catalogue' }).waitFor();
    await manager.page.getByRole('link', { name: 'API keys' }).click();
    await manager.page.getByRole('heading', { name: 'API keys' }).waitFor();
    expect(await manager.page.locator('[data-role]').textContent()).toBe('viewer');
    expect(await manager.page.getByRole('button', { name: /New (account|user) key/ }).count()).toBe(0);
    const refused = await callFromPage(manager.page, 'POST', '/admin/v1/keys', { name: 'x', kind: 'service', scopes: ['devices:read'] });
    expect(refused.status).toBe(403);
    // And the user key's next token carries only what a viewer may hold.
    expect((await token(made.body.key.client_id, made.body.client_secret)).body.scope).toBe('devices:read');
    await manager.context.close();
  });

  it('changing the password signs out the other browser and keeps this one', async () => {
    const first = await signedIn('two-browsers@example.test', 'member');
    const second = await openConsole(browser, server);
    await signInAs(second.page, 'two-browsers@example.test', PASSWORD);

    await first.page.getByRole('link', { name: 'two-browsers@example.test' }).click();
    await first.page.getByRole('heading', { name: 'My account' }).waitFor();
    await first.page.locator('tr[data-session="other"]').waitFor();
    await first.page.getByLabel('Current password').fill(PASSWORD);
    await first.page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await first.page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await first.page.getByRole('button', { name: 'Change password' }).click();
    await first.page.getByText('1 other session(s) signed out').waitFor();
    await expect.poll(() => first.page.locator('tr[data-session="other"]').count()).toBe(0);
    expect(await axeViolations(first.page)).toEqual([]);

    await second.page.getByRole('link', { name: 'Scope catalogue' }).click();
    await second.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await first.page.getByRole('link', { name: 'Scope catalogue' }).click();
    await first.page.getByRole('heading', { name: 'Scope catalogue' }).waitFor();
    await signInAs(second.page, 'two-browsers@example.test', NEW_PASSWORD);
    await first.context.close();
    await second.context.close();
  });

  it('a member makes their own user key on My account; delete names the keys it takes, disable the keys it stops', async () => {
    const member = await signedIn('keyholder@example.test', 'member');
    await member.page.goto('/console/account');
    await member.page.getByRole('button', { name: 'New user key' }).click();
    const form = member.page.getByRole('dialog', { name: 'New user key' });
    await form.waitFor();
    expect(await form.getByLabel('User').locator('option').allTextContents()).toEqual(['keyholder@example.test']);
    await form.getByLabel('Name', { exact: true }).fill('keyholder laptop');
    await form.getByLabel('Other scopes (space-separated)').fill('devices:read');
    await form.getByRole('button', { name: 'Create key' }).click();
    const created = member.page.getByRole('dialog', { name: 'Key created' });
    await created.locator('[data-copy="client_secret"]').click();
    await created.getByRole('button', { name: 'Accept and close' }).click();
    await member.page.locator('section', { hasText: 'My API keys' }).getByRole('link', { name: 'keyholder laptop' }).waitFor();

    await admin.goto(`/console/users/${member.userId}`);
    await admin.getByRole('link', { name: 'keyholder laptop' }).waitFor();
    await admin.getByRole('button', { name: 'Disable' }).click();
    const disable = admin.getByRole('dialog', { name: 'Disable keyholder@example.test?' });
    await disable.getByText('keyholder laptop').waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await disable.getByRole('button', { name: 'Cancel' }).click();

    await admin.getByRole('button', { name: 'End all sessions' }).click();
    const endAll = admin.getByRole('dialog', { name: 'End every session of keyholder@example.test?' });
    await endAll.waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await endAll.getByRole('button', { name: 'End sessions' }).click();
    await admin.getByText('No live sessions.').waitFor();
    await member.page.getByRole('link', { name: 'API keys' }).click();
    await member.page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await admin.getByRole('button', { name: 'Delete' }).click();
    const remove = admin.getByRole('dialog', { name: 'Delete keyholder@example.test?' });
    await remove.getByText('These user keys are deleted with them:').waitFor();
    await remove.getByText('keyholder laptop').waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await remove.getByRole('button', { name: 'Delete user' }).click();
    await admin.getByRole('heading', { name: 'Users' }).waitFor();
    await expect.poll(() => admin.locator('tr', { hasText: 'keyholder@example.test' }).count()).toBe(0);
    await member.context.close();
  });

  it('the Users page disables and enables a user from their row', async () => {
    const invited = await server.cli('users', 'invite', '--email', 'row-actions@example.test', '--role', 'viewer');
    await admin.goto('/console/users');
    const row = admin.locator(`tr[data-user-id="${invited.user_id}"]`);
    await row.getByRole('button', { name: 'Disable: row-actions@example.test' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Disable row-actions@example.test?' });
    await dialog.getByText('No keys depend on them.').waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await dialog.getByRole('button', { name: 'Disable user' }).click();
    await admin.locator(`tr[data-user-id="${invited.user_id}"] td[data-label="Status"]`, { hasText: 'disabled' }).waitFor();
    await admin.locator(`tr[data-user-id="${invited.user_id}"]`).getByRole('button', { name: 'Enable: row-actions@example.test' }).click();
    await admin.getByRole('dialog', { name: 'Enable row-actions@example.test?' }).getByRole('button', { name: 'Enable user' }).click();
    await admin.locator(`tr[data-user-id="${invited.user_id}"] td[data-label="Status"]`, { hasText: 'invited' }).waitFor();
    expect(await axeViolations(admin)).toEqual([]);
  });
});
