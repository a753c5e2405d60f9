// `npm run screenshots`: the README's pictures of the console, taken from a real server. Starts
// Keygate as `npm start` does on a first run (embedded Postgres in a throw-away data folder),
// follows the printed set-up link, makes a few example keys, and saves
// docs/screenshots/{key-list,new-key-dialog,created-key-dialog,users,audit,account-switcher,two-factor-enrolment}.png
// with Debian's chromium.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { freePort } from '../src/embedded/free-port.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs/screenshots');
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'screenshots passphrase 2026';

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`);
  process.exit(1);
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'keygate-screenshots-'));
const port = await freePort();
const origin = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'serve'], {
  cwd: ROOT,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KEYGATE_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    KEYGATE_ISSUER: origin,
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const setupLink = await new Promise<string>((resolve, reject) => {
  let output = '';
  server.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const link = output.match(/setup_link:\s+(\S+)/);
    if (link) resolve(link[1]!);
  });
  server.once('exit', (code) => reject(new Error(`keygate exited (${code}) before printing a set-up link`)));
});
await waitForServer();

const browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, baseURL: origin });
  const page = await context.newPage();
  await page.goto(setupLink);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  await makeExamples(page);
  mkdirSync(OUT, { recursive: true });

  await page.reload();
  await page.locator('tbody tr').nth(4).waitFor();
  await page.screenshot({ path: path.join(OUT, 'key-list.png') });

  await page.getByRole('button', { name: 'New account key' }).click();
  const dialog = page.getByRole('dialog', { name: 'New account key' });
  await dialog.getByLabel('Name', { exact: true }).fill('inventory-sync');
  await dialog.getByLabel('Description').fill('Pulls the device inventory every hour');
  await dialog.getByLabel('devices — Network devices').selectOption('write');
  await dialog.getByLabel('reports — Usage reports').selectOption('read');
  const network = dialog.getByRole('textbox', { name: /Allowed networks/ });
  for (const cidr of ['203.0.113.0/24', '2001:db8::/32']) {
    await network.fill(cidr);
    await network.press('Enter');
  }
  await page.screenshot({ path: path.join(OUT, 'new-key-dialog.png') });

  await dialog.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('dialog', { name: 'Key created' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'created-key-dialog.png') });

  // The Users page with a few people (a new tab: the created-key dialog guards its secret).
  const people = await context.newPage();
  await people.goto('/console/');
  await people.getByRole('heading', { name: 'API keys' }).waitFor();
  await makePeople(people);
  await people.goto('/console/users');
  await people.locator('tbody tr').nth(3).waitFor();
  await people.screenshot({ path: path.join(OUT, 'users.png') });
  // The audit log, filtered to the admin's own successful changes.
  await people.goto('/console/audit');
  await people.getByRole('heading', { name: 'Audit log' }).waitFor();
  await people.getByLabel('Actor').fill('admin@keygate.localhost');
  await people.getByLabel('Outcome').selectOption('success');
  await people.getByRole('button', { name: 'Apply filters' }).click();
  await people.locator('table.audit-log tbody tr').nth(4).waitFor();
  await people.waitForLoadState('networkidle');
  await people.screenshot({ path: path.join(OUT, 'audit.png') });
  // Child accounts, the session switched into one, and the header's switcher open.
  await makeAccounts(people);
  await people.goto('/console/accounts');
  await people.getByRole('heading', { name: 'Accounts' }).waitFor();
  await people.locator('tr[data-account-id]').first().waitFor();
  await people.getByRole('button', { name: 'Switch account' }).click();
  await people.locator('.account-option').nth(3).waitFor();
  await people.screenshot({ path: path.join(OUT, 'account-switcher.png') });
  // Two-factor enrolment: the QR code and the key as text (a throw-away server's secret).
  await people.keyboard.press('Escape');
  await people.goto('/console/account/two-factor');
  await people.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  await people.getByRole('img', { name: /QR code/ }).waitFor();
  await people.screenshot({ path: path.join(OUT, 'two-factor-enrolment.png'), fullPage: true });
  console.log(
    `saved ${['key-list', 'new-key-dialog', 'created-key-dialog', 'users', 'audit', 'account-switcher', 'two-factor-enrolment'].map((n) => `docs/screenshots/${n}.png`).join(', ')}`,
  );
} finally {
  await browser.close();
  await new Promise<void>((resolve) => {
    server.once('exit', () => resolve());
    server.kill('SIGTERM');
  });
  rmSync(dataDir, { recursive: true, force: true });
}

async function waitForServer(): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    if (
      await fetch(`${origin}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('keygate did not start');
}

/** A catalogue and a handful of keys in different states, made through the admin API with the page's session. */
async function makeExamples(page: Page): Promise<void> {
  const created = await page.evaluate(async () => {
    const session = (await (await fetch('/console/api/session')).json()) as { csrf_token: string };
    const send = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return response.status === 204 ? null : response.json();
    };
    await send('PUT', '/admin/v1/scopes/devices', { description: 'Network devices', actions: ['read', 'write'] });
    await send('PUT', '/admin/v1/scopes/reports', { description: 'Usage reports', actions: ['read', 'export'] });
    const day = 86_400_000;
    const keys = [
      {
        name: 'billing-export',
        scopes: ['reports:read', 'reports:export'],
        expires_at: new Date(Date.now() + 3 * day).toISOString(),
        description: 'Nightly billing export',
      },
      { name: 'fleet-agent', scopes: ['devices:read', 'devices:write'], networks: ['10.20.0.0/16'] },
      { name: 'grafana-dashboards', scopes: ['devices:read', 'reports:read'], expires_at: new Date(Date.now() + 21 * day).toISOString() },
      { name: 'legacy-sync', scopes: ['devices:read'], networks: ['198.51.100.7', '2001:db8:1::/48'] },
      { name: 'audit-introspector', scopes: ['token:introspect'], expires_at: new Date(Date.now() + 180 * day).toISOString() },
    ];
    const ids: string[] = [];
    const secrets: Record<string, string> = {};
    for (const key of keys) {
      const created = (await send('POST', '/admin/v1/keys', key)) as { key: { client_id: string }; client_secret: string };
      ids.push(created.key.client_id);
      secrets[created.key.client_id] = created.client_secret;
    }
    await send('POST', `/admin/v1/keys/${ids[3]}/disable`);
    return ids.map((id) => ({ id, secret: secrets[id]! }));
  });
  if (created.length !== 5) throw new Error('example keys were not created');
  // Some traffic, so the last-used column and the usage sparklines have something to show.
  for (const [index, { id, secret }] of created.slice(0, 3).entries()) {
    for (let i = 0; i < 3 + index * 4; i += 1) {
      await fetch(`${origin}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(),
      });
    }
  }
  // Last use and usage are counted in batches off the token path (every 5 s): let one land.
  await new Promise((r) => setTimeout(r, 6000));
}

/** A few people in different states (invited, with a user key, disabled), through the admin API. */
async function makePeople(page: Page): Promise<void> {
  const made = await page.evaluate(async () => {
    const session = (await (await fetch('/console/api/session')).json()) as { csrf_token: string; user: { tenant_id: string } };
    const send = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return response.json();
    };
    const people = [
      { email: 'maria.lopez@example.com', name: 'María López', role: 'manager' },
      { email: 'sam.okafor@example.com', name: 'Sam Okafor', role: 'member' },
      { email: 'jin.park@example.com', name: 'Jin Park', role: 'viewer' },
    ];
    const ids: string[] = [];
    for (const person of people) ids.push(((await send('POST', '/admin/v1/users', person)) as { user: { id: string } }).user.id);
    await send('POST', '/admin/v1/keys', { name: 'sam laptop', kind: 'user', user_id: ids[1], scopes: ['devices:read'] });
    await send('POST', '/admin/v1/keys', { name: 'sam ci', kind: 'user', user_id: ids[1], scopes: ['devices:read'] });
    await send('POST', `/admin/v1/users/${ids[2]}/disable`);
    return ids.length;
  });
  if (made !== 3) throw new Error('example users were not created');
}

/** Two child accounts and a grandchild, made with the page's session, which then works in one of them. */
async function makeAccounts(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const session = (await (await fetch('/console/api/session')).json()) as { csrf_token: string };
    const send = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${url}: ${response.status}`);
      return response.json();
    };
    const emea = (await send('POST', '/admin/v1/tenants', { name: 'EMEA', max_key_lifetime_days: 180, allow_never_expiring_keys: false })) as {
      tenant: { id: string };
    };
    await send('POST', '/admin/v1/tenants', { name: 'Americas', max_key_lifetime_days: 365 });
    await send('PUT', '/console/api/session/account', { tenant_id: emea.tenant.id });
    await send('POST', '/admin/v1/tenants', { name: 'Northwind Traders', max_key_lifetime_days: 90 });
    await send('POST', '/admin/v1/keys', { name: 'emea-edge', scopes: ['devices:read'] });
  });
}
