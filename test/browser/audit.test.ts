// The audit page in Chromium against a real server: events newest first; filters by actor (a
// person's email, a key's id), action, outcome and time range, each showing only matching rows and
// kept in the address so the link shows the same view; an event's detail (who, which key, from
// which address and request, what changed); the CSV and JSON Lines downloads of the filtered view;
// a member seeing only the events about them; axe-core on the page and the dialog.
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/stores/db.ts';
import { parseCsv } from '../support/csv.ts';
import { axeViolations, completeSetup, launchChromium, openConsole, startConsoleServer, type ConsoleServer } from '../support/browser.ts';

const PASSWORD = 'a long audit passphrase 9';
const ADMIN_EMAIL = 'audit-admin@example.test';

/** An admin API call from the page, with its session and CSRF token, as the console makes it. */
function callFromPage(page: Page, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ({ method, path, body, headers }) => {
      const session = (await (await fetch('/console/api/session')).json()) as { csrf_token: string };
      const response = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: response.status === 204 ? null : await response.json() };
    },
    { method, path, body, headers },
  );
}

describe('the audit page', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let bootKeyId: string;
  let renamedKeyId: string;
  let fleetKeyId: string;

  const rows = () => page.locator('table.audit-log tbody tr');
  const rowActions = () => rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
  const apply = async () => {
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForLoadState('networkidle');
  };
  const clear = async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForLoadState('networkidle');
  };

  beforeAll(async () => {
    server = await startConsoleServer();
    const boot = await server.cli('bootstrap', '--admin-email', ADMIN_EMAIL);
    bootKeyId = boot.client_id;
    browser = await launchChromium();
    page = (await openConsole(browser, server)).page;
    await completeSetup(page, boot.setup_link.url, PASSWORD);

    // The signed-in admin makes and renames a key (the rename with a request id of its own).
    const created = await callFromPage(page, 'POST', '/admin/v1/keys', { name: 'billing-sync', scopes: ['reports:read'] });
    renamedKeyId = created.body.key.client_id;
    const renamed = await callFromPage(
      page,
      'PATCH',
      `/admin/v1/keys/${renamedKeyId}`,
      { name: 'billing-sync-v2', scopes: ['reports:read', 'reports:export'] },
      {
        'x-request-id': 'req-rename-1',
      },
    );
    expect(renamed.status).toBe(200);
    // The bootstrap key, with a bearer token, makes and disables another; a wrong secret is denied.
    const token = await fetch(`${server.origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: boot.client_id, client_secret: boot.client_secret }).toString(),
    });
    const bearer = { authorization: `Bearer ${((await token.json()) as { access_token: string }).access_token}`, 'content-type': 'application/json' };
    const fleet = await fetch(`${server.origin}/admin/v1/keys`, {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ name: 'sensor-fleet', scopes: ['devices:read'] }),
    });
    fleetKeyId = ((await fleet.json()) as { key: { client_id: string } }).key.client_id;
    expect((await fetch(`${server.origin}/admin/v1/keys/${fleetKeyId}/disable`, { method: 'POST', headers: bearer })).status).toBe(200);
    const denied = await fetch(`${server.origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: fleetKeyId, client_secret: 'kgs_not-the-secret' }).toString(),
    });
    expect(denied.status).toBe(401);
    // One event from last January, for the time range.
    const db = connectDatabase(server.env.DATABASE_URL!, 1);
    try {
      await sql`insert into audit_events (at, action, outcome, tenant_id, target_key_id, ip, request_id, details)
                values ('2026-01-15T12:00:00Z', 'key.rotate', 'success', ${boot.tenant_id}::uuid, ${renamedKeyId}, '192.0.2.10', 'req-january', '{"via":"cli"}')`.execute(
        db,
      );
    } finally {
      await db.destroy();
    }
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('lists the events newest first from the nav link, accessible', async () => {
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await rows().first().waitFor();
    const ids = await rows().evaluateAll((trs) => trs.map((tr) => BigInt(tr.getAttribute('data-event-id')!).toString()));
    expect(ids.map(BigInt)).toEqual([...ids.map(BigInt)].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(await rowActions()).toEqual(expect.arrayContaining(['key.create', 'key.update', 'key.disable', 'token.issue', 'key.rotate']));
    expect(await axeViolations(page)).toEqual([]);
  });

  it('filters by actor: a person by email, a key by id; the address carries the filter', async () => {
    await page.getByLabel('Actor').fill(ADMIN_EMAIL);
    await apply();
    expect(new URL(page.url()).searchParams.get('actor_user_id')).toMatch(/^[0-9a-f-]{36}$/);
    const actors = () => rows().locator('td[data-label="Actor"]').allTextContents();
    await expect.poll(async () => (await actors()).every((actor) => actor.includes(ADMIN_EMAIL))).toBe(true);
    expect(await rowActions()).toEqual(expect.arrayContaining(['key.update', 'key.create']));
    expect(await rowActions()).not.toContain('key.disable');

    await page.getByLabel('Actor').fill(bootKeyId);
    await apply();
    expect(new URL(page.url()).searchParams.get('actor_key_id')).toBe(bootKeyId);
    await expect.poll(rowActions).toEqual(['key.disable', 'key.create']);
    for (const actor of await rows().locator('td[data-label="Actor"]').allTextContents()) expect(actor).toContain('key ');
    for (const target of await rows().locator('td[data-label="Target"]').allTextContents()) expect(target).toContain('sensor-fleet');

    await page.getByLabel('Actor').fill('nobody@example.test');
    await apply();
    expect(await page.locator('.field-error').filter({ hasText: 'No user with this email' }).count()).toBe(1);
    await clear();
  });

  it('filters by target key, by action, by outcome and by time range, and a shared link shows the same view', async () => {
    await page.getByLabel('Target key').fill(fleetKeyId);
    await apply();
    await expect.poll(rowActions).toEqual(['token.issue', 'key.disable', 'key.create']);
    await page.getByLabel('Target key').fill('');

    await page.getByLabel('Action').fill('key.update');
    await apply();
    await expect.poll(rowActions).toEqual(['key.update']);

    await page.getByLabel('Action').fill('');
    await page.getByLabel('Outcome').selectOption('denied');
    await apply();
    await expect.poll(rowActions).toEqual(['token.issue']);
    expect(await rows().first().getAttribute('data-outcome')).toBe('denied');
    expect(await rows().first().textContent()).toContain('sensor-fleet');

    await page.getByLabel('Outcome').selectOption('');
    await page.getByLabel('From').fill('2026-01-01T00:00');
    await page.getByLabel('Until').fill('2026-02-01T00:00');
    await apply();
    await expect.poll(rowActions).toEqual(['key.rotate']);
    expect(await rows().first().textContent()).toContain('192.0.2.10');

    const shared = page.url();
    const other = (await openConsole(browser, server)).page;
    await other.goto('/console/sign-in');
    await other.getByLabel('Email').fill(ADMIN_EMAIL);
    await other.getByLabel('Password').fill(PASSWORD);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('heading', { name: 'API keys' }).waitFor();
    await other.goto(shared);
    await other.locator('table.audit-log tbody tr').first().waitFor();
    expect(await other.locator('table.audit-log tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')))).toEqual(['key.rotate']);
    expect(await other.getByLabel('From').inputValue()).toBe('2026-01-01T00:00');
    await other.context().close();
    await clear();
  });

  it('opens an event: who, which key, from which address and request, and what changed', async () => {
    await page.getByLabel('Action').fill('key.update');
    await apply();
    await expect.poll(rowActions).toEqual(['key.update']);
    await rows()
      .first()
      .getByRole('button', { name: /^Details of key.update/ })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Event key.update' });
    await dialog.waitFor();
    const detail = (name: string) => dialog.locator(`[data-detail="${name}"]`).textContent();
    expect(await detail('actor_user')).toContain(ADMIN_EMAIL);
    expect(await detail('target_key')).toBe(`billing-sync-v2 (${renamedKeyId})`);
    expect(await detail('ip')).toBe('127.0.0.1');
    expect(await detail('request_id')).toBe('req-rename-1');
    expect(await detail('via')).toBe('console');
    const change = (field: string) => dialog.locator(`[data-field-change="${field}"] td`).allTextContents();
    expect(await change('name')).toEqual(['billing-sync', 'billing-sync-v2']);
    expect(await change('scopes')).toEqual(['["reports:read"]', '["reports:read","reports:export"]']);
    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    await clear();
  });

  it('downloads the filtered view as CSV and as JSON Lines', async () => {
    await page.getByLabel('Action').fill('key.create');
    await apply();
    await expect.poll(async () => new Set(await rowActions())).toEqual(new Set(['key.create']));
    const shown = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event-id')));
    const exportCsv = page.getByRole('link', { name: 'Export CSV' });
    // The download is the same-origin route: the session cookie goes along, no credential in the address.
    expect(await exportCsv.getAttribute('href')).toBe('/admin/v1/audit/export?format=csv&action=key.create');

    const [csvDownload] = await Promise.all([page.waitForEvent('download'), exportCsv.click()]);
    expect(csvDownload.suggestedFilename()).toMatch(/^keygate-audit-\d{8}T\d{6}Z\.csv$/);
    const [header, ...records] = parseCsv(readFileSync((await csvDownload.path())!, 'utf8'));
    expect(records.map((r) => r[header!.indexOf('id')])).toEqual(shown);
    expect(records.every((r) => r[header!.indexOf('action')] === 'key.create')).toBe(true);
    expect(records.map((r) => r[header!.indexOf('target_key_name')])).toEqual(expect.arrayContaining(['billing-sync-v2', 'sensor-fleet']));

    const [jsonlDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export JSON Lines' }).click()]);
    expect(jsonlDownload.suggestedFilename()).toMatch(/\.jsonl$/);
    const lines = readFileSync((await jsonlDownload.path())!, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((e) => e.id)).toEqual(shown);
    expect(lines.every((e) => e.action === 'key.create')).toBe(true);
    await clear();
  });

  it('shows a member only the events about them', async () => {
    const invited = await server.cli('users', 'invite', '--email', 'audit-member@example.test', '--role', 'member');
    const member = (await openConsole(browser, server)).page;
    await completeSetup(member, invited.setup_link.url, PASSWORD);
    const mine = await callFromPage(member, 'POST', '/admin/v1/keys', { name: 'member-laptop', scopes: ['devices:read'] });
    expect(mine.status).toBe(201);
    await member.getByRole('link', { name: 'Audit', exact: true }).click();
    await member.getByRole('heading', { name: 'Audit log' }).waitFor();
    await member.locator('table.audit-log tbody tr').first().waitFor();
    const text = await member.locator('table.audit-log').textContent();
    expect(text).toContain('member-laptop');
    for (const theirs of ['billing-sync', 'sensor-fleet', ADMIN_EMAIL]) expect(text).not.toContain(theirs);
    expect(await axeViolations(member)).toEqual([]);
    await member.context().close();
  });
});
