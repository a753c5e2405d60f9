// The console loads in real Chromium under its content-security policy: no violation, the sign-in
// page is accessible, and an unknown page says so.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, launchChromium, openConsole, startConsoleServer, type ConsoleServer } from '../support/browser.ts';

describe('console shell in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('sends a visitor without a session to the sign-in page, with no policy violation and no serious axe finding', async () => {
    const { page, cspViolations, context } = await openConsole(browser, server);
    await page.goto('/console/keys/kg_whatever');
    await page.getByRole('heading', { name: 'Sign in to Keygate' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    expect(await axeViolations(page)).toEqual([]);
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('is usable at a phone width', async () => {
    const { page, context } = await openConsole(browser, server, { width: 390, height: 844 });
    await page.goto('/console/sign-in');
    const overflow = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
    expect(overflow).toBeLessThanOrEqual(390);
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });
});
