// Reading one cookie from a request and writing Set-Cookie values, for the console's session.
import type { Context } from 'koa';

/**
 * The name a Keygate cookie goes by. Over https it carries the `__Host-` prefix: a browser takes
 * such a cookie only from this very host (Secure, Path=/, no Domain), so a page on a sibling
 * subdomain cannot plant one of its own (an attacker's session) for Keygate to read.
 */
export function cookieName(name: string, secure: boolean): string {
  return secure ? `__Host-${name}` : name;
}

/**
 * The value of cookie `name` (see cookieName), or undefined. A request that carries the name twice
 * carries none: Keygate sets one, so the other was planted by a page of a sibling domain (over
 * plain http, where the prefix means nothing), and which one is Keygate's cannot be told.
 */
export function readCookie(ctx: Context, name: string, secure: boolean): string | undefined {
  const header = ctx.get('cookie');
  if (!header) return undefined;
  const wanted = cookieName(name, secure);
  let value: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== wanted) continue;
    if (value !== undefined) return undefined;
    value = part.slice(eq + 1).trim();
  }
  return value;
}

export interface CookieOptions {
  secure: boolean;
  /** Seconds; 0 deletes the cookie. Undefined: a cookie for this browser session only. */
  maxAgeSeconds?: number;
}

/** HttpOnly, SameSite=Strict, for the whole origin: the only kind of cookie Keygate sets. */
export function setCookie(ctx: Context, name: string, value: string, options: CookieOptions): void {
  const parts = [`${cookieName(name, options.secure)}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  ctx.append('Set-Cookie', parts.join('; '));
}
