// What each role sees and may do in the console. The server decides every request; the console
// only hides what would be refused. A viewer sees no write control, and a change forged from a
// viewer's session is refused; a change without the CSRF token is refused for anyone; a member
// sees and makes only their own user keys.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, completeSetup, launchChromium, openConsole, startConsoleServer, type ConsoleServer } from '../support/browser.ts';

const PASSWORD = 'a long console passphrase 7';

/** A request from inside the signed-in page, as a script on it could send one. */
function sendFromPage(page: Page, path: string, csrf: 'session' | 'none' | 'wrong') {
  return page.evaluate(
    async ({ path, csrf }) => {
      const session: any = await (await fetch('/console/api/session')).json();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (csrf === 'session') headers['x-csrf-token'] = session.csrf_token;
      if (csrf === 'wrong') headers['x-csrf-token'] = 'not-the-token';
      const response = await fetch(path, { method: 'POST', headers, body: '{}' });
      return { status: response.status, body: (await response.json()) as any };
    },
    { path, csrf },
  );
}

describe('roles in the console', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let admin: Page;
  let accountKeyId: string;

  const signedIn = async (email: string, role: string) => {
    const invited = await server.cli('users', 'invite', '--email', email, '--role', role);
    const { page } = await openConsole(browser, server);
    await completeSetup(page, invited.setup_link.url, PASSWORD);
    return page;
  };

  beforeAll(async () => {
    server = await startConsoleServer();
    const boot = await server.cli('bootstrap', '--admin-email', 'roles-admin@example.test');
    accountKeyId = (await server.cli('keys', 'create', '--name', 'fleet-agent', '--scopes', 'devices:read')).client_id;
    browser = await launchChromium();
    admin = (await openConsole(browser, server)).page;
    await completeSetup(admin, boot.setup_link.url, PASSWORD);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const keyStatus = async () => (await (await admin.request.get(`/admin/v1/keys/${accountKeyId}`)).json()).key.status;

  it('shows a viewer the keys with no write control, on every page', async () => {
    const viewer = await signedIn('viewer@example.test', 'viewer');
    await viewer.locator(`tr[data-client-id="${accountKeyId}"]`).waitFor();
    expect(await viewer.locator('[data-role]').textContent()).toBe('viewer');
    expect(await viewer.getByRole('button', { name: /New (account|user) key/ }).count()).toBe(0);
    expect(await axeViolations(viewer)).toEqual([]);

    await viewer.getByRole('link', { name: 'fleet-agent' }).click();
    await viewer.getByRole('heading', { name: 'fleet-agent' }).waitFor();
    await viewer.getByRole('heading', { name: 'Audit trail' }).waitFor();
    for (const name of ['Edit', 'Refresh key', 'Disable', 'Enable', 'Revoke live tokens', 'Delete']) {
      expect(await viewer.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    }
    expect(await axeViolations(viewer)).toEqual([]);

    await viewer.getByRole('link', { name: 'Scope catalogue' }).click();
    await viewer.getByRole('heading', { name: 'Scope catalogue' }).waitFor();
    expect(await viewer.getByRole('button', { name: 'Add resource' }).count()).toBe(0);
  });

  it("refuses a change forged from a viewer's session, CSRF token and all", async () => {
    const viewer = await signedIn('viewer-forger@example.test', 'viewer');
    const forged = await sendFromPage(viewer, `/admin/v1/keys/${accountKeyId}/disable`, 'session');
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('forbidden');
    const created = await viewer.evaluate(async () => {
      const session: any = await (await fetch('/console/api/session')).json();
      const response = await fetch('/admin/v1/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        body: JSON.stringify({ name: 'sneaky', scopes: ['devices:read'] }),
      });
      return response.status;
    });
    expect(created).toBe(403);
    expect(await keyStatus()).toBe('active');
  });

  it("refuses an admin's change without the CSRF token, or with a wrong one", async () => {
    for (const csrf of ['none', 'wrong'] as const) {
      const refused = await sendFromPage(admin, `/admin/v1/keys/${accountKeyId}/disable`, csrf);
      expect(refused.status, csrf).toBe(403);
      expect(refused.body.error.code).toBe('forbidden');
    }
    expect(await keyStatus()).toBe('active');
    // The same request with the token goes through: the refusals above were the token's doing.
    expect((await sendFromPage(admin, `/admin/v1/keys/${accountKeyId}/disable`, 'session')).status).toBe(200);
    expect(await keyStatus()).toBe('disabled');
    expect((await sendFromPage(admin, `/admin/v1/keys/${accountKeyId}/enable`, 'session')).status).toBe(200);
  });

  it('lets a member make user keys for themselves only, and see only their own keys', async () => {
    const member = await signedIn('member@example.test', 'member');
    await member.getByRole('button', { name: 'New user key' }).waitFor();
    expect(await member.getByRole('button', { name: 'New account key' }).count()).toBe(0);
    expect(await member.locator(`tr[data-client-id="${accountKeyId}"]`).count()).toBe(0);

    await member.getByRole('button', { name: 'New user key' }).click();
    const dialog = member.getByRole('dialog', { name: 'New user key' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('User').locator('option').allTextContents()).toEqual(['member@example.test']);
    await dialog.getByLabel('Name', { exact: true }).fill('my laptop');
    await dialog.getByLabel('Other scopes (space-separated)').fill('devices:read');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const created = member.getByRole('dialog', { name: 'Key created' });
    await created.locator('[data-copy="client_secret"]').click();
    await created.getByRole('button', { name: 'Accept and close' }).click();
    const rows = member.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.locator('td[data-label="Name"]').textContent()).toBe('my laptop');
    expect(await rows.locator('td[data-label="Kind"]').textContent()).toBe('User keymember@example.test');
    expect(await axeViolations(member)).toEqual([]);
  });
});
