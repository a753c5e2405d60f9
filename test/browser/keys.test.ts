// Every API-key flow of the console, in Chromium against a real server: create account and user
// keys, the shown-once secret (reveal, copy, download, the confirmation when closing unsaved, gone
// from the page afterwards), tokens with the copied secret and with the downloaded key file, the
// list's search, sorting, counters and column chooser, and on the key page edit, refresh (rotate)
// with a grace, disable / enable, revoke live tokens, delete, the audit trail and the usage chart.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, completeSetup, launchChromium, openConsole, startConsoleServer, type ConsoleServer, type ConsoleTab } from '../support/browser.ts';

const PASSWORD = 'a long console passphrase 7';

async function tokenWith(origin: string, clientId: string, secret: string): Promise<number> {
  const response = await fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return response.status;
}

const bodyText = (page: Page) => page.evaluate(() => (globalThis as any).document.documentElement.outerHTML as string);

describe('API keys in the console', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let tab: ConsoleTab;
  let page: Page;
  const secrets: string[] = [];

  beforeAll(async () => {
    server = await startConsoleServer();
    const boot = await server.cli('bootstrap', '--admin-email', 'keys-admin@example.test');
    browser = await launchChromium();
    tab = await openConsole(browser, server);
    page = tab.page;
    await completeSetup(page, boot.setup_link.url, PASSWORD);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('creates an account key: validation inline, networks as chips, the secret shown once, copied, downloaded, then gone from the page', async () => {
    await page.getByRole('button', { name: 'New account key' }).click();
    const dialog = page.getByRole('dialog', { name: 'New account key' });
    await dialog.waitFor();
    expect(await axeViolations(page)).toEqual([]);

    await dialog.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => dialog.locator('.field-error').first().textContent()).toBe('Enter a name');

    await dialog.getByLabel('Name', { exact: true }).fill('billing-sync');
    await dialog.getByLabel('Description').fill('Nightly billing export');
    await dialog.getByLabel('Other scopes (space-separated)').fill('devices:read devices:write');
    const network = dialog.getByRole('textbox', { name: /Allowed networks/ });
    await network.fill('10.0.0.300');
    await network.press('Enter');
    await expect.poll(() => dialog.locator('.field-error').filter({ hasText: 'not an IPv4 or IPv6 address' }).count()).toBe(1);
    await network.fill('127.0.0.0/8');
    await network.press('Enter');
    await network.fill('2001:db8::/129');
    await network.press('Enter');
    await expect.poll(() => dialog.locator('.field-error').filter({ hasText: 'prefix length must be 0–128' }).count()).toBe(1);
    await network.fill('::1');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await network.fill('192.0.2.0/24');
    await network.press('Enter');
    await dialog.getByRole('button', { name: 'Remove 192.0.2.0/24' }).click();
    expect(await dialog.locator('.chip span').allTextContents()).toEqual(['127.0.0.0/8', '::1']);
    expect(await dialog.getByLabel('Expires').inputValue()).toBe('90');
    // The bootstrapped tenant allows keys that never expire: offered, with a warning.
    expect(await dialog.getByLabel('Expires').locator('option').allTextContents()).toEqual([
      '30 days',
      '90 days (recommended)',
      '180 days',
      '365 days',
      'On a date…',
      'Never',
    ]);
    await dialog.getByLabel('Expires').selectOption('never');
    expect(await dialog.getByText(/A key that never expires/).isVisible()).toBe(true);
    await dialog.getByLabel('Expires').selectOption('date');
    expect(await dialog.getByLabel('Expiry date').isVisible()).toBe(true);
    await dialog.getByLabel('Expires').selectOption('30');
    await dialog.getByLabel('Token lifetime (seconds)').fill('600');
    await dialog.getByRole('button', { name: 'Create key' }).click();

    const created = page.getByRole('dialog', { name: 'Key created' });
    await created.waitFor();
    expect(await created.textContent()).toContain('you will not see this secret again');
    expect(await axeViolations(page)).toEqual([]);
    const clientId = (await created.locator('[data-field="client_id"]').textContent())!;
    expect(clientId).toMatch(/^kg_/);
    expect(await created.locator('[data-field="client_secret"]').textContent()).toMatch(/^•+$/);
    expect(await created.locator('[data-field="token_url"]').textContent()).toBe(`${server.origin}/oauth/token`);

    await created.locator('[data-reveal="client_secret"]').click();
    const revealed = (await created.locator('[data-field="client_secret"]').textContent())!;
    expect(revealed).not.toMatch(/•/);
    await created.locator('[data-copy="client_secret"]').click();
    await expect.poll(() => created.locator('[data-copy="client_secret"]').textContent()).toBe('Copied');
    const copied = await page.evaluate(() => (globalThis as any).navigator.clipboard.readText());
    expect(copied).toBe(revealed);
    secrets.push(copied);

    const [download] = await Promise.all([page.waitForEvent('download'), created.getByRole('button', { name: 'Download key file' }).click()]);
    expect(download.suggestedFilename()).toBe(`keygate-${clientId}.json`);
    const keyFile = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(keyFile).toMatchObject({
      client_id: clientId,
      client_secret: copied,
      token_url: `${server.origin}/oauth/token`,
      scopes: ['devices:read', 'devices:write'],
    });

    await created.getByRole('button', { name: 'Accept and close' }).click();
    await created.waitFor({ state: 'detached' });
    expect(await bodyText(page)).not.toContain(copied);
    expect(await page.locator('[data-field]').count()).toBe(0);

    // The copied secret and the downloaded key file both get tokens.
    expect(await tokenWith(server.origin, clientId, copied)).toBe(200);
    const fromFile = await fetch(keyFile.token_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: keyFile.client_id, client_secret: keyFile.client_secret }).toString(),
    });
    expect(fromFile.status).toBe(200);

    const row = page.locator(`tr[data-client-id="${clientId}"]`);
    await row.waitFor();
    expect(await row.locator('td[data-label="Networks"]').textContent()).toBe('127.0.0.0/8, ::1/128');
    expect(await row.locator('td[data-label="Expires"]').textContent()).toMatch(/^in (29|30) days$/);
    expect(await row.locator('td[data-label="Status"]').textContent()).toBe('active');
    expect(await row.locator('td[data-label="Kind"]').textContent()).toBe('Account key');
  });

  it('asks before closing the shown-once dialog when nothing was copied or downloaded', async () => {
    await page.getByRole('button', { name: 'New account key' }).click();
    const dialog = page.getByRole('dialog', { name: 'New account key' });
    await dialog.getByLabel('Name', { exact: true }).fill('open-reporting');
    await dialog.getByLabel('Other scopes (space-separated)').fill('reports:read');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const created = page.getByRole('dialog', { name: 'Key created' });
    await created.waitFor();
    await created.locator('[data-reveal="api_key"]').click();
    const apiKey = (await created.locator('[data-field="api_key"]').textContent())!;
    secrets.push(apiKey.split('.')[1]!);

    await page.keyboard.press('Escape');
    const ask = page.getByRole('dialog', { name: 'Close without saving the secret?' });
    await ask.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'detached' });
    expect(await created.isVisible()).toBe(true);

    await created.getByRole('button', { name: 'Accept and close' }).click();
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Close anyway' }).click();
    await created.waitFor({ state: 'detached' });
    expect(await bodyText(page)).not.toContain(apiKey);
    const row = page.locator('tr', { hasText: 'open-reporting' });
    expect(await row.locator('td[data-label="Networks"]').textContent()).toBe('Any IP');
  });

  it('works from the keyboard: a dialog takes focus, Escape closes it, focus returns to its button', async () => {
    const opener = page.getByRole('button', { name: 'New account key' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New account key' });
    await dialog.waitFor();
    await expect.poll(() => page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('name'))).toBe('name');
    await page.keyboard.type('typed-only');
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('name'))).toBe('description');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe('New account key');
  });

  it('creates a user key for a chosen user', async () => {
    const member = await server.cli('users', 'invite', '--email', 'member-one@example.test', '--role', 'member');
    await page.reload();
    await page.getByRole('button', { name: 'New user key' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user key' });
    await dialog.getByLabel('Name', { exact: true }).fill('member laptop');
    await dialog.getByLabel('User').selectOption({ label: 'member-one@example.test' });
    await dialog.getByLabel('Other scopes (space-separated)').fill('devices:read');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const created = page.getByRole('dialog', { name: 'Key created' });
    await created.getByRole('button', { name: 'Download key file' }).click();
    await created.getByRole('button', { name: 'Accept and close' }).click();
    const row = page.locator('tr', { hasText: 'member laptop' });
    await row.waitFor();
    expect(await row.locator('td[data-label="Kind"]').textContent()).toBe('User keymember-one@example.test');

    await page.getByLabel('User', { exact: true }).selectOption({ label: 'member-one@example.test' });
    await expect.poll(() => page.locator('td[data-label="Name"]').allTextContents()).toEqual(['member laptop']);
    expect(new URL(page.url()).searchParams.get('user_id')).toBe(member.user_id);
    await page.getByLabel('User', { exact: true }).selectOption({ label: 'Anyone' });
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(1);
  });

  it('searches, sorts, filters by counter and remembers the chosen columns (names only)', async () => {
    await page.getByLabel('Search').fill('billing');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Search').fill('');
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThanOrEqual(4);

    await page.getByRole('button', { name: 'Name' }).click();
    await expect.poll(() => page.locator('th[aria-sort="ascending"]').textContent()).toMatch(/^Name/);
    const names = await page.locator('td[data-label="Name"]').allTextContents();
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
    await page.getByRole('button', { name: /^Name/ }).click();
    await expect.poll(() => page.locator('th[aria-sort="descending"]').textContent()).toMatch(/^Name/);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('-name');

    await page.getByRole('button', { name: /expiring within 30 days/ }).click();
    await expect.poll(() => page.locator('td[data-label="Name"]').allTextContents()).toEqual(['billing-sync']);
    await page.getByRole('button', { name: /expiring within 30 days/ }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThanOrEqual(4);

    await page.getByRole('button', { name: 'Columns' }).click();
    const chooser = page.getByRole('dialog', { name: 'Columns' });
    await chooser.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await chooser.getByLabel('Client ID').uncheck();
    await chooser.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.locator('th', { hasText: 'Client ID' }).count()).toBe(0);
    await page.reload();
    await page.locator('tbody tr').first().waitFor();
    expect(await page.locator('th', { hasText: 'Client ID' }).count()).toBe(0);
    const stored = await page.evaluate(() => JSON.stringify({ ...(globalThis as any).localStorage }));
    expect(JSON.parse(JSON.parse(stored)['keygate.console.columns'])).not.toContain('client_id');
    for (const secret of secrets) expect(stored).not.toContain(secret);
    expect(await axeViolations(page)).toEqual([]);
  });

  it('pages through more keys than one page holds', async () => {
    await page.evaluate(async () => {
      const session = (await (await fetch('/console/api/session')).json()) as { csrf_token: string };
      for (let i = 0; i < 24; i += 1) {
        await fetch('/admin/v1/keys', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
          body: JSON.stringify({ name: `bulk-${String(i).padStart(2, '0')}`, scopes: ['devices:read'] }),
        });
      }
    });
    await page.goto('/console/');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(25);
    const first = await page.locator('td[data-label="Name"]').allTextContents();
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.getByText('Page 2').count()).toBe(1);
    const second = await page.locator('td[data-label="Name"]').allTextContents();
    expect(second.length).toBeGreaterThan(0);
    expect(second.filter((name) => first.includes(name))).toEqual([]);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => page.locator('td[data-label="Name"]').allTextContents()).toEqual(first);
  });

  it('on the key page: edits, refreshes the key with a grace, disables and enables, revokes tokens, shows the audit trail and usage, deletes', async () => {
    await page.goto('/console/?q=billing-sync');
    await page.getByRole('link', { name: 'billing-sync' }).click();
    await page.getByRole('heading', { name: 'billing-sync' }).waitFor();
    const clientId = new URL(page.url()).pathname.split('/').pop()!;
    expect(await page.locator('.details').textContent()).toContain('Nightly billing export');
    await page.getByText(/Issued \d+/).waitFor();
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit "billing-sync"' });
    await edit.getByLabel('Name', { exact: true }).fill('billing-sync-v2');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'billing-sync-v2' }).waitFor();

    const oldSecret = secrets[0]!;
    await page.getByRole('button', { name: 'Refresh key' }).click();
    const rotate = page.getByRole('dialog', { name: 'Refresh key "billing-sync-v2"' });
    await rotate.getByLabel('Grace period for the old secret').selectOption('3600');
    expect(await axeViolations(page)).toEqual([]);
    await rotate.getByRole('button', { name: 'Refresh key' }).click();
    await rotate.locator('[data-field="client_secret"]').waitFor();
    expect(await rotate.textContent()).toMatch(/The old secret works until/);
    await rotate.locator('[data-copy="client_secret"]').click();
    const newSecret = await page.evaluate(() => (globalThis as any).navigator.clipboard.readText());
    secrets.push(newSecret);
    expect(newSecret).not.toBe(oldSecret);
    await rotate.getByRole('button', { name: 'Accept and close' }).click();
    await rotate.waitFor({ state: 'detached' });
    expect(await bodyText(page)).not.toContain(newSecret);
    expect(await tokenWith(server.origin, clientId, newSecret)).toBe(200);
    expect(await tokenWith(server.origin, clientId, oldSecret)).toBe(200); // within the grace

    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('button', { name: 'Enable' }).waitFor();
    expect(await page.locator('.details .badge').textContent()).toBe('disabled');
    expect(await tokenWith(server.origin, clientId, newSecret)).toBe(401);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Disable' }).waitFor();
    expect(await tokenWith(server.origin, clientId, newSecret)).toBe(200);

    await page.getByRole('button', { name: 'Revoke live tokens' }).click();
    await page.getByRole('dialog', { name: 'Revoke live tokens?' }).getByRole('button', { name: 'Revoke tokens' }).click();
    await page.getByText('Live tokens revoked').waitFor();

    await expect.poll(async () => (await page.locator('table.audit td[data-label="Action"]').allTextContents()).join(' ')).toMatch(/key\.rotate/);
    const actions = await page.locator('table.audit td[data-label="Action"]').allTextContents();
    for (const action of ['key.create', 'key.update', 'key.rotate', 'key.disable', 'key.enable']) expect(actions).toContain(action);

    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete "billing-sync-v2"?' });
    expect(await confirm.getAttribute('class')).toContain('dialog-danger');
    expect(await confirm.textContent()).toContain(clientId);
    expect(await axeViolations(page)).toEqual([]);
    await confirm.getByRole('button', { name: 'Delete billing-sync-v2' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await expect.poll(() => page.locator(`tr[data-client-id="${clientId}"]`).count()).toBe(0);
    expect(await tokenWith(server.origin, clientId, newSecret)).toBe(401);
  });

  it('fits a 390 px phone screen', async () => {
    const phone = await openConsole(browser, server, { width: 390, height: 844 });
    await phone.context.addCookies(await tab.context.cookies());
    await phone.page.goto('/console/');
    await phone.page.locator('tbody tr').first().waitFor();
    expect(await phone.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await axeViolations(phone.page)).toEqual([]);
    await phone.context.close();
  });

  it('never wrote a secret to the server log, and the page never broke its content-security policy', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    const log = server.log();
    expect(log.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(tab.cspViolations).toEqual([]);
  });
});
