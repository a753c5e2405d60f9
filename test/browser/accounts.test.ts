// Child accounts and switching in Chromium against a real server: a parent's admin creates child
// accounts, edits a child's key policy, disables and enables one (the dialog says what stops),
// switches into a child, creates a key there in the console and gets a token with it, with the
// header naming the active account throughout; a child's admin never sees the parent (its key's
// page is the not-found page, the switcher lists only the child and below). axe-core on every page
// and dialog added here.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, completeSetup, launchChromium, openConsole, startConsoleServer, type ConsoleServer, type ConsoleTab } from '../support/browser.ts';

const PASSWORD = 'a long console passphrase 7';
const ROOT = 'Acme';

async function tokenWith(origin: string, clientId: string, secret: string): Promise<number> {
  const response = await fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return response.status;
}

const activeAccount = async (page: Page) => (await page.locator('.active-account').textContent())!.replace(/^Account: /, '');
const row = (page: Page, name: string) => page.locator('tr[data-account-id]').filter({ has: page.getByRole('rowheader', { name, exact: true }) });

describe('child accounts and the account switcher', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let tab: ConsoleTab;
  let page: Page;
  let rootKeyId: string;
  let childId: string;

  beforeAll(async () => {
    server = await startConsoleServer();
    const boot = await server.cli('bootstrap', '--admin-email', 'accounts-admin@example.test', '--tenant-name', ROOT);
    rootKeyId = boot.client_id;
    browser = await launchChromium();
    tab = await openConsole(browser, server);
    page = tab.page;
    await completeSetup(page, boot.setup_link.url, PASSWORD);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('creates child accounts with a policy, edits the policy, and disables / enables one, saying what stops', async () => {
    expect(await activeAccount(page)).toBe(ROOT);
    await page.getByRole('link', { name: 'Accounts', exact: true }).click();
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    await page.getByText('No child accounts yet.').waitFor();
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'New account' }).click();
    const dialog = page.getByRole('dialog', { name: 'New account' });
    await dialog.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Create account' }).click();
    expect(await dialog.locator('.field-error').first().textContent()).toBe('Enter a name');
    await dialog.getByLabel('Name').fill('Child A');
    await dialog.getByLabel('Maximum key lifetime (days)').fill('30');
    await dialog.getByLabel('Keys may never expire').uncheck();
    await dialog.getByRole('button', { name: 'Create account' }).click();
    await dialog.waitFor({ state: 'detached' });
    const childA = row(page, 'Child A');
    await childA.waitFor();
    childId = (await childA.getAttribute('data-account-id'))!;
    expect(await childA.locator('td[data-label="Key policy"]').textContent()).toBe('Keys: at most 30 days; must expire');
    expect(await childA.locator('td[data-label="Keys"]').textContent()).toBe('0');

    await page.getByRole('button', { name: 'New account' }).click();
    await page.getByRole('dialog', { name: 'New account' }).getByLabel('Name').fill('Child B');
    await page.getByRole('dialog', { name: 'New account' }).getByRole('button', { name: 'Create account' }).click();
    await row(page, 'Child B').waitFor();
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Edit policy: Child A' }).click();
    const policy = page.getByRole('dialog', { name: 'Key policy of Child A' });
    await policy.waitFor();
    expect(await policy.textContent()).toContain('Acme allows: Keys: no lifetime cap; never-expiring allowed');
    expect(await axeViolations(page)).toEqual([]);
    await policy.getByLabel('Maximum key lifetime (days)').fill('0');
    await policy.getByRole('button', { name: 'Save policy' }).click();
    expect(await policy.locator('.field-error').first().textContent()).toContain('whole days');
    await policy.getByLabel('Maximum key lifetime (days)').fill('60');
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await policy.waitFor({ state: 'detached' });
    await expect.poll(() => row(page, 'Child A').locator('td[data-label="Key policy"]').textContent()).toBe('Keys: at most 60 days; must expire');

    await page.getByRole('button', { name: 'Disable: Child B' }).click();
    const disable = page.getByRole('dialog', { name: 'Disable Child B?' });
    await disable.waitFor();
    const said = (await disable.textContent())!;
    expect(said).toContain('0 keys get no new tokens, and every live token of them stops working now.');
    expect(said).toContain('can no longer sign in');
    expect(await axeViolations(page)).toEqual([]);
    await disable.getByRole('button', { name: 'Disable account' }).click();
    await expect.poll(() => row(page, 'Child B').locator('td[data-label="Status"]').textContent()).toBe('disabled');
    await page.getByRole('button', { name: 'Enable: Child B' }).click();
    const enable = page.getByRole('dialog', { name: 'Enable Child B?' });
    await enable.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await enable.getByRole('button', { name: 'Enable account' }).click();
    await expect.poll(() => row(page, 'Child B').locator('td[data-label="Status"]').textContent()).toBe('active');
  });

  it('switches into a child, creates a key there that gets a token, with the header naming the account throughout, and comes back', async () => {
    await page.getByRole('button', { name: 'Switch account' }).click();
    const menu = page.locator('.account-menu');
    await menu.getByRole('button', { name: 'Acme › Child A' }).waitFor();
    expect(await menu.locator('.account-option').allTextContents()).toEqual(['Acme', 'Acme › Child A', 'Acme › Child B']);
    expect(await axeViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    expect(await menu.isHidden()).toBe(true);

    await page.getByRole('button', { name: 'Switch account' }).click();
    await menu.getByRole('button', { name: 'Acme › Child A' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await expect.poll(() => activeAccount(page)).toBe('Acme›Child A');
    expect(await page.locator(`tr[data-client-id="${rootKeyId}"]`).count()).toBe(0);

    await page.getByRole('button', { name: 'New account key' }).click();
    const dialog = page.getByRole('dialog', { name: 'New account key' });
    await dialog.waitFor();
    // The child's policy: no "Never".
    expect(await dialog.getByLabel('Expires').locator('option').allTextContents()).not.toContain('Never');
    await dialog.getByLabel('Name', { exact: true }).fill('child-sync');
    await dialog.getByLabel('Other scopes (space-separated)').fill('devices:read');
    await dialog.getByLabel('Expires').selectOption('30');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const created = page.getByRole('dialog', { name: 'Key created' });
    await created.waitFor();
    expect(await activeAccount(page)).toBe('Acme›Child A');
    const clientId = (await created.locator('[data-field="client_id"]').textContent())!;
    await created.locator('[data-reveal="client_secret"]').click();
    const secret = (await created.locator('[data-field="client_secret"]').textContent())!;
    await created.locator('[data-copy="client_secret"]').click();
    await created.getByRole('button', { name: 'Accept and close' }).click();
    await created.waitFor({ state: 'detached' });
    expect(await tokenWith(server.origin, clientId, secret)).toBe(200);
    await page.locator(`tr[data-client-id="${clientId}"]`).waitFor();

    await page.getByRole('link', { name: 'Accounts', exact: true }).click();
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    expect(await activeAccount(page)).toBe('Acme›Child A');
    await page.getByText('No child accounts yet.').waitFor();

    await page.getByRole('button', { name: 'Back to Acme' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await expect.poll(() => activeAccount(page)).toBe(ROOT);
    expect(await page.getByRole('button', { name: 'Back to Acme' }).count()).toBe(0);
    await page.locator(`tr[data-client-id="${rootKeyId}"]`).waitFor();

    // A second tab still showing Acme follows when this one switches: its next call is refused (409), and it re-reads the session.
    const other = await tab.context.newPage();
    await other.goto('/console/');
    await other.locator(`tr[data-client-id="${rootKeyId}"]`).waitFor();
    expect(await activeAccount(other)).toBe(ROOT);
    await page.getByRole('button', { name: 'Switch account' }).click();
    await page.locator('.account-menu').getByRole('button', { name: 'Acme › Child A' }).click();
    await expect.poll(() => activeAccount(page)).toBe('Acme›Child A');
    await other.getByRole('link', { name: 'Scope catalogue' }).click();
    await expect.poll(() => activeAccount(other)).toBe('Acme›Child A');
    await other.getByText('This session now works in Child A').waitFor();
    await other.getByRole('heading', { name: 'API keys' }).waitFor();
    await expect.poll(() => other.locator(`tr[data-client-id="${rootKeyId}"]`).count()).toBe(0);
    await other.close();
    await page.getByRole('button', { name: 'Back to Acme' }).click();
    await expect.poll(() => activeAccount(page)).toBe(ROOT);
  });

  it('a child account’s admin never sees the parent: its key’s page is the not-found page, and the switcher starts at the child', async () => {
    const invited = await server.cli('users', 'invite', '--email', 'child-admin@example.test', '--role', 'admin', '--tenant', childId);
    const { page: child, context } = await openConsole(browser, server);
    await completeSetup(child, invited.setup_link.url, PASSWORD);
    expect(await activeAccount(child)).toBe('Child A');

    await child.goto(`/console/keys/${encodeURIComponent(rootKeyId)}`);
    await child.getByRole('heading', { name: 'Page not found' }).waitFor();
    expect(await axeViolations(child)).toEqual([]);
    await child.goto('/console/accounts');
    await child.getByRole('heading', { name: 'Accounts' }).waitFor();
    await child.getByRole('button', { name: 'Switch account' }).click();
    await child.locator('.account-option').first().waitFor();
    expect(await child.locator('.account-option').allTextContents()).toEqual(['Child A']);
    const html = await child.evaluate(() => (globalThis as any).document.documentElement.outerHTML as string);
    expect(html).not.toContain(ROOT);
    await context.close();
  });
});
