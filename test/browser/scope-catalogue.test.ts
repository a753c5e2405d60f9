// The scope catalogue page, and keys made from it: resources added, edited and deleted in the
// browser; the new-key dialog then offers them as Read-only / Read & write; a scope typed outside
// the catalogue is refused with the server's message.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, completeSetup, launchChromium, openConsole, startConsoleServer, type ConsoleServer } from '../support/browser.ts';

const PASSWORD = 'a long console passphrase 7';

describe('scope catalogue in the console', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await startConsoleServer();
    const boot = await server.cli('bootstrap', '--admin-email', 'catalogue-admin@example.test');
    browser = await launchChromium();
    page = (await openConsole(browser, server)).page;
    await completeSetup(page, boot.setup_link.url, PASSWORD);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const addResource = async (name: string, description: string, actions: string) => {
    await page.getByRole('button', { name: 'Add resource' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add resource' });
    await dialog.getByLabel('Resource').fill(name);
    await dialog.getByLabel('Description').fill(description);
    await dialog.getByLabel('Actions (space-separated)').fill(actions);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator(`tr[data-resource="${name}"]`).waitFor();
  };

  it('adds, edits and deletes resources', async () => {
    await page.getByRole('link', { name: 'Scope catalogue' }).click();
    await page.getByText('No resources yet').waitFor();
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Add resource' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add resource' });
    await dialog.getByLabel('Resource').fill('Bad Name');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => dialog.locator('.field-error').first().textContent()).toMatch(/lower-case letter first/);
    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await addResource('devices', 'Network devices', 'read write');
    await addResource('reports', 'Usage reports', 'read export');
    expect(await page.locator('tr[data-resource="reports"] .tag').allTextContents()).toEqual(['read', 'export']);

    await page.getByRole('button', { name: 'Edit reports' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit "reports"' });
    await edit.getByLabel('Description').fill('Monthly usage reports');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('tr[data-resource="reports"] td[data-label="Description"]').textContent()).toBe('Monthly usage reports');

    await page.getByRole('button', { name: 'Delete reports' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete "reports"?' });
    expect(await confirm.getAttribute('class')).toContain('dialog-danger');
    await confirm.getByRole('button', { name: 'Delete reports' }).click();
    await confirm.waitFor({ state: 'detached' });
    await expect.poll(() => page.locator('tr[data-resource]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-resource')))).toEqual(['devices']);
  });

  it('offers the catalogue in the new-key dialog, and shows the refusal of a scope outside it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'New account key' }).click();
    const dialog = page.getByRole('dialog', { name: 'New account key' });
    const devices = dialog.getByLabel('devices — Network devices');
    await devices.waitFor();
    expect(await devices.locator('option').allTextContents()).toEqual(['None', 'Read-only', 'Read & write']);
    await dialog.getByLabel('Name', { exact: true }).fill('catalogue key');
    await devices.selectOption('write');
    await dialog.getByLabel('Other scopes (space-separated)').fill('billing:read');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => dialog.locator('.form-error').textContent()).toMatch(/billing:read/);

    await dialog.getByLabel('Other scopes (space-separated)').fill('token:introspect');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const created = page.getByRole('dialog', { name: 'Key created' });
    await created.getByRole('button', { name: 'Download key file' }).click();
    await created.getByRole('button', { name: 'Accept and close' }).click();
    const row = page.locator('tr', { hasText: 'catalogue key' });
    await row.waitFor();
    expect(await row.locator('td[data-label="Scopes"] .tag').allTextContents()).toEqual(['devices:read', 'devices:write', 'token:introspect']);
  });
});
