// Reading one cookie from a request and writing Set-Cookie values, for the console's session.
import type { Context } from 'koa';

/** The value of cookie `name`, or undefined (the first one, when a browser sends it twice). */
export function readCookie(ctx: Context, name: string): string | undefined {
  const header = ctx.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  secure: boolean;
  /** Seconds; 0 deletes the cookie. Undefined: a cookie for this browser session only. */
  maxAgeSeconds?: number;
}

/** HttpOnly, SameSite=Strict, for the whole origin: the only kind of cookie Keygate sets. */
export function setCookie(ctx: Context, name: string, value: string, options: CookieOptions): void {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  ctx.append('Set-Cookie', parts.join('; '));
}
