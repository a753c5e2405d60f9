// Attacker's review 9 of the console, in Chromium. Each test asserts the SECURE behaviour: a
// failing test here is a hole.
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI, REPO_ROOT, runCli } from '../support/cli.ts';
import { TEST_PEPPER } from '../support/keygate.ts';
import { freePort, stopChild, waitFor } from '../support/processes.ts';
import { completeSetup, launchChromium, newDatabase, openConsole, startConsoleServer, type ConsoleServer } from '../support/browser.ts';

const PASSWORD = 'a long console passphrase 7';

describe('attack review 9: the shown-once secret and the back/forward cache', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await startConsoleServer();
    const boot = await server.cli('bootstrap', '--admin-email', 'bfcache-admin@example.test');
    browser = await launchChromium();
    page = (await openConsole(browser, server)).page;
    await completeSetup(page, boot.setup_link.url, PASSWORD);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("held (F7 probe): leaving the console while a new key's secret is shown, then Back, does not bring the secret back", async () => {
    await page.getByRole('button', { name: 'New account key' }).click();
    const dialog = page.getByRole('dialog', { name: 'New account key' });
    await dialog.waitFor();
    await dialog.getByLabel('Name', { exact: true }).fill('bfcache-probe');
    await dialog.getByLabel('Other scopes (space-separated)').fill('devices:read');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const created = page.getByRole('dialog', { name: 'Key created' });
    await created.waitFor();
    await created.locator('[data-reveal="client_secret"]').click();
    const secret = (await created.locator('[data-field="client_secret"]').textContent())!;
    expect(secret).not.toMatch(/•/);
    // The person walks away to another page of the same browser tab (any other address) …
    await page.goto(`${server.origin}/healthz`);
    // … and whoever sits down next presses Back.
    await page.goBack();
    await page.waitForTimeout(500);
    const restored = await page.evaluate(() => {
      const entry = (globalThis as any).performance.getEntriesByType('navigation')[0];
      return { type: entry?.type as string | undefined, html: (globalThis as any).document.documentElement.outerHTML as string };
    });
    expect(restored.html).not.toContain(secret);
  });
});

// A console on a domain with siblings: console.kg.test, and an attacker's page on evil.kg.test
// (same site, another origin), both resolved to this machine by Chromium.

describe('attack review 9: a sibling subdomain tosses a session cookie', () => {
  let child: ChildProcess;
  let env: Record<string, string | undefined>;
  let origin: string;
  let local: string;
  let browser: Browser;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://console.kg.test:${port}`;
    local = `http://127.0.0.1:${port}`;
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: await newDatabase(),
      REDIS_URL: inject('redisUrl'),
      KEYGATE_SECRET_PEPPER: TEST_PEPPER,
      KEYGATE_ISSUER: origin,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      KEYGATE_SIGN_IN_FAILURES_PER_IP: '100000',
    };
    child = spawn(process.execPath, [CLI, 'serve'], { cwd: REPO_ROOT, env, stdio: 'ignore' });
    await waitFor(async () => (await fetch(`${local}/healthz`).catch(() => ({ ok: false }))).ok, 30_000, 'keygate');
    browser = await chromium.launch({
      executablePath: inject('chromiumPath'),
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--host-resolver-rules=MAP *.kg.test 127.0.0.1'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (child) await stopChild(child);
  });

  it("F9: evil.kg.test plants keygate_session (Domain=kg.test): the victim's console then works in the attacker's session", async () => {
    const cli = async (...args: string[]) => JSON.parse((await runCli([...args, '--json'], env)).stdout);
    const victim = await cli('bootstrap', '--admin-email', 'victim-admin@example.test');
    // The attacker has an account of their own (here a viewer of the same organisation) and signs in.
    const attackerInvite = await cli('users', 'invite', '--email', 'attacker@example.test', '--role', 'viewer');
    const token = /#token=(.+)$/.exec(attackerInvite.setup_link.url)![1];
    const json = { 'content-type': 'application/json', origin };
    await fetch(`${local}/console/api/setup`, { method: 'POST', headers: json, body: JSON.stringify({ token, password: 'attacker password 12345' }) });
    const signedIn = await fetch(`${local}/console/api/session`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'attacker@example.test', password: 'attacker password 12345' }),
    });
    const attackerCookie = /keygate_session=([^;]+)/.exec(signedIn.headers.get('set-cookie') ?? '')![1]!;

    // The victim sets up and signs in to the console.
    const context = await browser.newContext({ baseURL: origin });
    const page = await context.newPage();
    await completeSetup(page, victim.setup_link.url.replace(/^http:\/\/[^/]+/, origin), PASSWORD);
    expect(await page.locator('.user-email').textContent()).toBe('victim-admin@example.test');

    // Later the victim opens a page on a sibling subdomain (user content, a staging app, …).
    await page.route('http://evil.kg.test/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<script>for (const p of ['/console/api', '/admin/v1']) document.cookie = 'keygate_session=${attackerCookie}; Domain=kg.test; Path=' + p;</script>`,
      }),
    );
    await page.goto('http://evil.kg.test/cat-pictures');
    // Back to the console: over plain http the planted cookie rides along with the victim's, and a
    // request with two session cookies signs nobody in. The console is never the attacker's.
    await page.goto('/console/');
    const signInForm = page.getByRole('button', { name: 'Sign in' });
    await Promise.race([page.locator('.user-email').waitFor(), signInForm.waitFor()]);
    const shown = (await page.locator('.user-email').count()) > 0 ? await page.locator('.user-email').textContent() : 'signed out';
    expect(['victim-admin@example.test', 'signed out']).toContain(shown);
    // The attacker's session, in the attacker's own hands, still works: it was never used for the victim.
    const asAttacker = await fetch(`${local}/console/api/session`, { headers: { cookie: `keygate_session=${attackerCookie}` } });
    expect(((await asAttacker.json()) as { user: { email: string } }).user.email).toBe('attacker@example.test');
  });
});
