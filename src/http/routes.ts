// A tiny exact-path route table: Keygate's public surface is a handful of fixed paths, and an
// unknown path or method must answer 404/405 in Keygate's error shape, never the library's.
import type { Context, Middleware } from 'koa';
import { KeygateError } from '../shared/errors.ts';

export type Handler = (ctx: Context) => unknown;
export type RouteTable = Record<string, Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', Handler>>>;

export function routeTable(routes: RouteTable): Middleware {
  return async function route(ctx) {
    const methods = Object.hasOwn(routes, ctx.path) ? routes[ctx.path] : undefined;
    if (!methods) throw new KeygateError('not_found', 'no such route');
    const handler = methods[ctx.method as 'GET' | 'POST' | 'PUT' | 'DELETE'];
    if (!handler) {
      ctx.set('Allow', Object.keys(methods).join(', '));
      throw new KeygateError('method_not_allowed', `${ctx.method} is not allowed here`);
    }
    await handler(ctx);
  };
}
