// Webhooks in the console, in Chromium against a real server that delivers events to a real
// loopback receiver: create an endpoint with event types chosen as checkboxes, copy the signing
// secret from the shown-once dialog (gone from the page afterwards), verify the delivered event
// with the standardwebhooks package and that secret, read the delivery in the endpoint's log,
// redeliver it under the same webhook-id, disable / enable, edit, delete with a red confirmation; a
// viewer sees no webhook page or control, and a webhook change forged from a viewer's session is
// refused.
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, completeSetup, launchChromium, openConsole, startConsoleServer, type ConsoleServer, type ConsoleTab } from '../support/browser.ts';
import { FAST_EVENTS, startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../support/receivers.ts';

const PASSWORD = 'a long console passphrase 7';

const pageHtml = (page: Page) => page.evaluate(() => (globalThis as any).document.documentElement.outerHTML as string);

function verified(secret: string, request: ReceivedRequest): { type: string; data: Record<string, any> } {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as never;
}

describe('webhooks in the console', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let tab: ConsoleTab;
  let page: Page;
  let receiver: HttpReceiver;
  let secret = '';
  let webhookId = '';

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    server = await startConsoleServer({ ...FAST_EVENTS, KEYGATE_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' });
    const boot = await server.cli('bootstrap', '--admin-email', 'hooks-admin@example.test');
    browser = await launchChromium();
    tab = await openConsole(browser, server);
    page = tab.page;
    await completeSetup(page, boot.setup_link.url, PASSWORD);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await receiver?.close();
  });

  it('creates an endpoint with chosen event types; the signing secret is shown once, copied, then gone from the page', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByText('No endpoints yet.').waitFor();
    await page.getByRole('button', { name: 'New endpoint' }).click();
    const dialog = page.getByRole('dialog', { name: 'New webhook endpoint' });
    await dialog.waitFor();
    expect(await axeViolations(page)).toEqual([]);

    // The checkboxes are the API's own list of event types.
    const offered = await dialog.locator('input[name="event_types"]').evaluateAll((boxes) => boxes.map((b: any) => b.value));
    const description: any = await (await fetch(`${server.origin}/admin/v1/openapi.json`)).json();
    const listed = description.components.schemas.CreateWebhook.properties.event_types.items.enum;
    expect(offered).toEqual(listed);
    expect(offered).toContain('key.created');

    // Nothing chosen: refused in the form, before any request.
    expect(await dialog.getByRole('checkbox', { checked: true }).count()).toBe(2);
    await dialog.getByLabel('key.expiring').uncheck();
    await dialog.getByLabel('key.expired').uncheck();
    await dialog.getByLabel('Endpoint URL').fill(receiver.url);
    await dialog.getByRole('button', { name: 'Create endpoint' }).click();
    await expect.poll(() => dialog.locator('[data-error-for="event_types"]').textContent()).toBe('Choose at least one event type');

    // A target outside the allowed networks is the server's refusal, shown on the field.
    await dialog.getByLabel('key.created').check();
    await dialog.getByLabel('Endpoint URL').fill('http://10.1.2.3/hook');
    await dialog.getByRole('button', { name: 'Create endpoint' }).click();
    await expect.poll(async () => ((await dialog.getByRole('alert').allTextContents()).join(' ').length > 0 ? 'shown' : 'none')).toBe('shown');
    expect(await dialog.getByLabel('Endpoint URL').getAttribute('aria-invalid')).toBe('true');

    await dialog.getByLabel('Endpoint URL').fill(receiver.url);
    await dialog.getByLabel('Description').fill('Key announcements');
    await dialog.getByRole('button', { name: 'Create endpoint' }).click();

    const created = page.getByRole('dialog', { name: 'Endpoint created' });
    await created.waitFor();
    expect(await created.textContent()).toContain('you will not see it again');
    expect(await created.locator('[data-field="webhook_secret"]').textContent()).toMatch(/^•+$/);
    expect(await axeViolations(page)).toEqual([]);
    await created.locator('[data-reveal="webhook_secret"]').click();
    const revealed = (await created.locator('[data-field="webhook_secret"]').textContent())!;
    expect(revealed).toMatch(/^whsec_/);

    // Closing before copying asks first.
    await created.getByRole('button', { name: 'Accept and close' }).click();
    const ask = page.getByRole('dialog', { name: 'Close without saving the secret?' });
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'detached' });

    await created.locator('[data-copy="webhook_secret"]').click();
    await expect.poll(() => created.locator('[data-copy="webhook_secret"]').textContent()).toBe('Copied');
    secret = await page.evaluate(() => (globalThis as any).navigator.clipboard.readText());
    expect(secret).toBe(revealed);
    await created.getByRole('button', { name: 'Accept and close' }).click();
    await created.waitFor({ state: 'detached' });

    // On to the endpoint's page; the secret is nowhere in the page.
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    webhookId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    expect(await pageHtml(page)).not.toContain(secret);
    expect(await page.locator('[data-field]').count()).toBe(0);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(receiver.url);
    await page.getByText('Nothing delivered yet.').waitFor();
  });

  it('delivers a key created in the console, signed with the copied secret; the log shows it; Redeliver sends it again under the same webhook-id', async () => {
    // A key made through the console's own dialog raises key.created.
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'New account key' }).click();
    const newKey = page.getByRole('dialog', { name: 'New account key' });
    await newKey.getByLabel('Name', { exact: true }).fill('announced-agent');
    await newKey.getByLabel('Other scopes (space-separated)').fill('devices:read');
    await newKey.getByRole('button', { name: 'Create key' }).click();
    const keyDialog = page.getByRole('dialog', { name: 'Key created' });
    await keyDialog.waitFor();
    const clientId = (await keyDialog.locator('[data-field="client_id"]').textContent())!;
    await keyDialog.getByRole('button', { name: 'Accept and close' }).click();
    await page.getByRole('dialog', { name: 'Close without saving the secret?' }).getByRole('button', { name: 'Close anyway' }).click();
    await keyDialog.waitFor({ state: 'detached' });

    const [first] = await receiver.waitForRequests(1);
    const event = verified(secret, first!);
    expect(event.type).toBe('key.created');
    expect(event.data.client_id).toBe(clientId);
    // Another secret, or a changed body, does not verify.
    expect(() => verified(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, first!)).toThrow();
    expect(() => verified(secret, { ...first!, body: first!.body.replace('key.created', 'key.deleted') })).toThrow();
    const webhookIdHeader = String(first!.headers['webhook-id']);

    await page.goto(`/console/webhooks/${encodeURIComponent(webhookId)}`);
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    const row = page.locator(`tr[data-event-id="${webhookIdHeader}"]`);
    await expect
      .poll(async () => {
        if ((await row.count()) === 0) await page.getByRole('button', { name: 'Refresh' }).click();
        return row
          .locator('[data-status]')
          .textContent({ timeout: 1000 })
          .catch(() => null);
      })
      .toBe('delivered');
    expect(await row.locator('td[data-label="Status"]').textContent()).toContain('HTTP 204');
    expect(await row.locator('td[data-label="Latency"]').textContent()).toMatch(/^\d+ ms$/);
    expect(await row.locator('td[data-label="Attempts"] summary').textContent()).toBe('1');
    expect(await row.locator('td[data-label="Event"]').textContent()).toContain('key.created');
    expect(await axeViolations(page)).toEqual([]);

    await row.getByRole('button', { name: /^Redeliver key\.created/ }).click();
    const requests = await receiver.waitForRequests(2);
    expect(requests).toHaveLength(2);
    expect(String(requests[1]!.headers['webhook-id'])).toBe(webhookIdHeader);
    expect(verified(secret, requests[1]!)).toEqual(event);
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return page
          .locator(`tr[data-event-id="${webhookIdHeader}"] td[data-label="Attempts"] summary`)
          .textContent({ timeout: 1000 })
          .catch(() => null);
      })
      .toBe('2');
  });

  it('disables, enables and edits the endpoint, lists it with its status, and fits a 390 px screen', async () => {
    await page.goto(`/console/webhooks/${encodeURIComponent(webhookId)}`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => page.locator('dd [data-status]').textContent()).toBe('disabled');
    expect((await (await page.request.get(`/admin/v1/webhooks/${webhookId}`)).json()).webhook.status).toBe('disabled');
    await page.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => page.locator('dd [data-status]').textContent()).toBe('active');

    // Edit: the dialog starts from the endpoint's settings; the change is saved and shown.
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit endpoint' });
    await edit.waitFor();
    expect(await edit.getByLabel('Endpoint URL').inputValue()).toBe(receiver.url);
    expect(await edit.getByLabel('Description').inputValue()).toBe('Key announcements');
    expect(await edit.getByRole('checkbox', { checked: true }).count()).toBe(1);
    await edit.getByLabel('key.created').uncheck();
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => edit.locator('[data-error-for="event_types"]').textContent()).toBe('Choose at least one event type');
    await edit.getByLabel('key.created').check();
    await edit.getByLabel('key.deleted').check();
    await edit.getByLabel('Description').fill('Key births and deaths');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await page.getByText('Key births and deaths').waitFor();
    const saved = (await (await page.request.get(`/admin/v1/webhooks/${webhookId}`)).json()).webhook;
    expect(saved).toMatchObject({ description: 'Key births and deaths', event_types: ['key.created', 'key.deleted'], url: receiver.url });

    const { page: phone } = await openConsole(browser, server, { width: 390, height: 844 });
    // The same browser context holds no session: sign in through the page.
    await phone.goto('/console/sign-in');
    await phone.getByLabel('Email').fill('hooks-admin@example.test');
    await phone.getByLabel('Password').fill(PASSWORD);
    await phone.getByRole('button', { name: 'Sign in' }).click();
    await phone.getByRole('heading', { name: 'API keys' }).waitFor();
    await phone.getByRole('link', { name: 'Webhooks' }).click();
    const listed = phone.locator(`tr[data-webhook-id="${webhookId}"]`);
    await listed.waitFor();
    expect(await listed.locator('td[data-label="Event types"] .tag').allTextContents()).toEqual(['key.created', 'key.deleted']);
    expect(await listed.locator('td[data-label="Status"]').textContent()).toBe('active');
    expect(await listed.locator('td[data-label="Last failure"]').textContent()).toBe('—');
    const overflow = await phone.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number);
    expect(overflow).toBeLessThanOrEqual(390);
    expect(await axeViolations(phone)).toEqual([]);
    await phone.getByRole('link', { name: receiver.url }).click();
    await phone.getByRole('heading', { name: 'Deliveries' }).waitFor();
    await phone.locator('tr[data-event-id]').first().waitFor();
    expect(await phone.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number)).toBeLessThanOrEqual(390);
    await phone.context().close();
  });

  it('shows a viewer no webhook page or control, and refuses a webhook change forged from their session', async () => {
    const invited = await server.cli('users', 'invite', '--email', 'hooks-viewer@example.test', '--role', 'viewer');
    const { page: viewer, context } = await openConsole(browser, server);
    await completeSetup(viewer, invited.setup_link.url, PASSWORD);
    expect(await viewer.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);

    await viewer.goto(`/console/webhooks/${encodeURIComponent(webhookId)}`);
    await viewer.getByRole('heading', { name: 'Endpoint not available' }).waitFor();
    await viewer.goto('/console/webhooks');
    await viewer.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await viewer.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
    for (const name of ['New endpoint', 'Edit', 'Disable', 'Enable', 'Delete', 'New signing secret', /^Redeliver/]) {
      expect(await viewer.getByRole('button', { name }).count(), String(name)).toBe(0);
    }
    expect(await viewer.locator('[data-webhook-id]').count()).toBe(0);

    const forged = await viewer.evaluate(
      async ({ url, id }) => {
        const session: any = await (await fetch('/console/api/session')).json();
        const headers = { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token };
        const create = await fetch('/admin/v1/webhooks', { method: 'POST', headers, body: JSON.stringify({ url, event_types: ['key.created'] }) });
        const disable = await fetch(`/admin/v1/webhooks/${id}/disable`, { method: 'POST', headers, body: '{}' });
        return [create.status, disable.status];
      },
      { url: receiver.url, id: webhookId },
    );
    expect(forged).toEqual([403, 403]);
    expect((await (await page.request.get(`/admin/v1/webhooks/${webhookId}`)).json()).webhook.status).toBe('active');
    await context.close();
  });

  it('deletes the endpoint after a red confirmation naming it; no secret reached the log or the page', async () => {
    await page.goto(`/console/webhooks/${encodeURIComponent(webhookId)}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this endpoint?' });
    await confirm.waitFor();
    expect(await confirm.getAttribute('class')).toContain('dialog-danger');
    expect(await confirm.locator('strong').textContent()).toBe(receiver.url);
    expect(await axeViolations(page)).toEqual([]);
    // Keyboard: focus starts on Cancel; Escape keeps the endpoint.
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    expect((await page.request.get(`/admin/v1/webhooks/${webhookId}`)).status()).toBe(200);

    await page.getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('No endpoints yet.').waitFor();
    expect((await page.request.get(`/admin/v1/webhooks/${webhookId}`)).status()).toBe(404);

    expect(server.log()).not.toContain(secret.slice('whsec_'.length));
    expect(await pageHtml(page)).not.toContain(secret.slice('whsec_'.length));
    expect(tab.cspViolations).toEqual([]);
  });
  it('works from the keyboard alone: open the dialog, fill it, choose an event type, create, close the secret dialog', async () => {
    const focused = () => page.evaluate(() => (globalThis as any).document.activeElement?.textContent?.trim() ?? '');
    const tabTo = async (label: string) => {
      for (let presses = 0; presses < 40 && (await focused()) !== label; presses += 1) await page.keyboard.press('Tab');
      expect(await focused()).toBe(label);
    };
    await page.goto('/console/webhooks');
    await page.getByText('No endpoints yet.').waitFor();
    await tabTo('New endpoint');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New webhook endpoint' });
    await dialog.waitFor();
    await expect.poll(() => page.evaluate(() => (globalThis as any).document.activeElement?.name)).toBe('url');
    await page.keyboard.type(`${receiver.url}?by=keyboard`);
    await page.keyboard.press('Tab');
    await page.keyboard.type('typed');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.value)).toBe('key.created');
    await page.keyboard.press('Space');
    expect(await dialog.getByLabel('key.created').isChecked()).toBe(true);
    await tabTo('Create endpoint');
    await page.keyboard.press('Enter');
    const created = page.getByRole('dialog', { name: 'Endpoint created' });
    await created.waitFor();
    await page.keyboard.press('Escape');
    const ask = page.getByRole('dialog', { name: 'Close without saving the secret?' });
    await ask.waitFor();
    await tabTo('Close anyway');
    await page.keyboard.press('Enter');
    await created.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: `${receiver.url}?by=keyboard` }).waitFor();
    expect(await page.locator('[data-field]').count()).toBe(0);
  });

  it('shows a manager no Webhooks link either: the routes ask for a scope managers do not hold', async () => {
    const invited = await server.cli('users', 'invite', '--email', 'hooks-manager@example.test', '--role', 'manager');
    const { page: manager, context } = await openConsole(browser, server);
    await completeSetup(manager, invited.setup_link.url, PASSWORD);
    expect(await manager.getByRole('link', { name: 'Scope catalogue' }).count()).toBe(1);
    expect(await manager.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    expect((await manager.request.get('/admin/v1/webhooks')).status()).toBe(403);
    await context.close();
  });
});
