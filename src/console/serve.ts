// GET /console and everything below it, except /console/api/* (the console's JSON routes, served
// elsewhere). A path naming a file (it has an extension) is that file or 404; any other path is a
// page of the single-page app and gets index.html, so a reload or a shared link lands on the page.
import type { Context, Next } from 'koa';
import { KeygateError } from '../shared/errors.ts';
import type { ConsoleAsset } from './assets.ts';

export const CONSOLE_PREFIX = '/console';
const API_PREFIX = `${CONSOLE_PREFIX}/api/`;

/**
 * Every console response, the 404s included. No inline script or style anywhere in the console, so
 * the policy can forbid both; framing is refused; the page never leaks its URL to another site.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // The file names carry no content hash, so the browser revalidates every time (a 304 with the ETag).
  'Cache-Control': 'no-cache',
};

export function isConsolePath(path: string): boolean {
  return (path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`)) && !path.startsWith(API_PREFIX) && path !== API_PREFIX.slice(0, -1);
}

export function createConsoleServer(assets: ReadonlyMap<string, ConsoleAsset>) {
  const index = assets.get('/index.html');
  if (!index) throw new Error('console/index.html is missing');

  return async function serveConsole(ctx: Context, next: Next): Promise<void> {
    if (!isConsolePath(ctx.path)) return next();
    ctx.set(CONSOLE_HEADERS);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      throw new KeygateError('method_not_allowed', `${ctx.method} is not allowed here`);
    }
    const rest = ctx.path.slice(CONSOLE_PREFIX.length);
    const lastSegment = rest.slice(rest.lastIndexOf('/') + 1);
    const asset = lastSegment.includes('.') ? assets.get(rest) : index;
    if (!asset) throw new KeygateError('not_found', 'no such console file');
    ctx.status = 200;
    ctx.type = asset.contentType;
    ctx.etag = asset.etag;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = asset.body;
  };
}
