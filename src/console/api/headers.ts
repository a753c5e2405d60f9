// Every /console/api answer: never cached, never sniffed into another type, never framed, and no
// Referer leaves with a request it starts. It is JSON, so its policy allows nothing at all.
import type { Context } from 'koa';

export const CONSOLE_API_PREFIX = '/console/api/';

export function setConsoleApiHeaders(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
}
