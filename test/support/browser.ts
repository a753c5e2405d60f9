// A real Keygate for the browser suites: its own database (so `keygate bootstrap` runs as on a new
// install), the run's Redis, and the server as a child process on a random loopback port, its log
// kept for inspection. Chromium is Debian's, driven by playwright-core; axe-core is injected into
// the page to check accessibility.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sql } from 'kysely';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { connectDatabase } from '../../src/stores/db.ts';
import { migrateToLatest } from '../../src/stores/migrate.ts';
import { CLI, REPO_ROOT, runCli } from './cli.ts';
import { TEST_PEPPER } from './keygate.ts';
import { freePort, stopChild, waitFor } from './processes.ts';

export interface ConsoleServer {
  origin: string;
  /** The server child's process id (to read its memory from /proc). */
  pid: number;
  env: Record<string, string | undefined>;
  /** Everything the server wrote to stdout and stderr so far. */
  log(): string;
  /** `keygate <args> --json` against this server's database, parsed. */
  cli(...args: string[]): Promise<any>;
  stop(): Promise<void>;
}

let databases = 0;

/** A fresh, migrated database for one suite. */
export async function newDatabase(): Promise<string> {
  databases += 1;
  const name = `keygate_browser_${process.pid}_${databases}`;
  const admin = connectDatabase(inject('postgresAdminUrl'));
  try {
    await sql.raw(`CREATE DATABASE ${name}`).execute(admin);
  } finally {
    await admin.destroy();
  }
  const url = inject('databaseUrl').replace(/\/keygate_test$/, `/${name}`);
  const db = connectDatabase(url);
  await migrateToLatest(db);
  await db.destroy();
  return url;
}

export async function startConsoleServer(extraEnv: Record<string, string> = {}, databaseUrl?: string): Promise<ConsoleServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: databaseUrl ?? (await newDatabase()),
    REDIS_URL: inject('redisUrl'),
    KEYGATE_SECRET_PEPPER: TEST_PEPPER,
    KEYGATE_ISSUER: origin,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    KEYGATE_AUTH_FAILURES_PER_IP: '100000',
    KEYGATE_SIGN_IN_FAILURES_PER_IP: '100000',
    ...extraEnv,
  };
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitFor(async () => (await fetch(`${origin}/healthz`)).ok, 30_000, `keygate on ${origin}`);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {
    origin,
    pid: child.pid!,
    env,
    log: () => output,
    async cli(...args: string[]) {
      const result = await runCli([...args, '--json'], env);
      if (result.code !== 0) throw new Error(`keygate ${args.join(' ')} failed: ${result.stderr}`);
      return JSON.parse(result.stdout);
    },
    stop: () => stopChild(child),
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject('chromiumPath'),
    // Chromium's sandbox cannot start as root (CI runs as root).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

export interface ConsoleTab {
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy violations the page reported. */
  cspViolations: string[];
}

export async function openConsole(browser: Browser, server: ConsoleServer, viewport = { width: 1280, height: 900 }): Promise<ConsoleTab> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, baseURL: server.origin });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return { context, page, cspViolations };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Serious and critical axe-core violations on the page as it is now (empty = none). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol, which the page's content-security policy does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const page = globalThis as any; // runs in the browser
    const result = await page.axe.run(page.document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n: any) => n.target.join(' ')).slice(0, 3) }));
  });
  return violations
    .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: any) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.join(', ')}`);
}

/** Signs in through the sign-in page. */
export async function signInAs(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/console/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
}

/** Sets the password through a set-up link, which signs the user in. */
export async function completeSetup(page: Page, setupLink: string, password: string): Promise<void> {
  await page.goto(setupLink);
  await page.getByLabel('New password').fill(password);
  await page.getByLabel('Repeat the password').fill(password);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
}
