// The headers of a JSON API answer a browser may read with a session cookie (/admin/v1 and
// /console/api): never cached (a new key's secret rides in one), never sniffed into another type,
// never framed, never read by another site's page, and no Referer leaves with a request it starts.
// It is JSON, so its content policy allows nothing at all.
import type { Context } from 'koa';

export function setApiHeaders(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
}
