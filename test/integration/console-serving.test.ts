// The console's files, served by Keygate itself under /console: every response carries the
// security headers, browser TypeScript arrives as JavaScript, pages of the app get index.html,
// unknown files 404, and nothing else in the server answers for /console.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_HEADERS } from '../../src/console/serve.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('console serving', () => {
  let keygate: TestKeygate;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
  });
  afterAll(() => keygate?.close());

  const get = (path: string, headers: Record<string, string> = {}) => keygate.send({ method: 'GET', path, headers });

  const expectConsoleHeaders = (headers: Record<string, unknown>) => {
    expect(headers['content-security-policy']).toBe(CONSOLE_HEADERS['Content-Security-Policy']);
    expect(headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['cache-control']).toBe('no-cache');
  };

  it('serves the app shell at /console, /console/ and any page path, with the security headers', async () => {
    for (const path of ['/console', '/console/', '/console/keys/kg_abc', '/console/sign-in', '/console/setup']) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.text).toContain('<script type="module" src="/console/main.ts"></script>');
      expectConsoleHeaders(response.headers);
    }
  });

  it('serves browser TypeScript as JavaScript with its types stripped', async () => {
    const response = await get('/console/api.ts');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.text).toContain('export class ApiError');
    expect(response.text).not.toMatch(/readonly status: number/);
    expectConsoleHeaders(response.headers);
  });

  it('has no inline script or style in the shell (the policy would block them)', async () => {
    const shell = (await get('/console/')).text;
    expect(shell).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(shell).not.toMatch(/<style|\sstyle=/);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await get('/console/styles.css');
    expect(first.status).toBe(200);
    expect(first.headers.etag).toMatch(/^"[\w-]+"$/);
    const again = await get('/console/styles.css', { 'if-none-match': first.headers.etag as string });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('answers 404 in the error shape for an unknown file, a traversal attempt and the compiler settings', async () => {
    for (const path of [
      '/console/nope.js',
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/tsconfig.json',
      '/console/pages/missing.ts',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.body.error.code).toBe('not_found');
      expect(response.headers['content-security-policy']).toBe(CONSOLE_HEADERS['Content-Security-Policy']);
    }
  });

  it('refuses writes to console files', async () => {
    const response = await keygate.send({ method: 'POST', path: '/console/', json: {} });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

  it('leaves /console/api/* to the console API, and /consolex to the rest of the app', async () => {
    const api = await get('/console/api/nothing-here');
    expect(api.headers['content-type']).toMatch(/application\/json/);
    expect(api.text).not.toContain('<!doctype html>');
    expect((await get('/consolex')).status).toBe(404);
  });
});
