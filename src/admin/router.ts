// Admin routes are declared once, as data: method, path, required scope and schemas. The same
// declarations route requests, validate them and generate the OpenAPI document.
import type { Context } from 'koa';
import type { z } from 'zod';
import { readJsonObject } from '../http/body.ts';
import { KeygateError } from '../shared/errors.ts';
import { parseInput } from '../shared/validation.ts';
import { requireScope, type AdminCaller } from './auth.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteInput<Body, Query> {
  params: Record<string, string>;
  body: Body;
  query: Query;
  caller: AdminCaller;
}

export interface RouteResult {
  status: number;
  body?: unknown;
}

export interface AdminRoute<Body = unknown, Query = unknown> {
  method: Method;
  /** OpenAPI-style path below /admin/v1, e.g. `/keys/{id}/rotate`. */
  path: string;
  summary: string;
  scope: string;
  body?: z.ZodType<Body>;
  query?: z.ZodType<Query>;
  responses: Record<
    number,
    { description: string; schema?: z.ZodType /** A body that is not JSON (a download): its media types. */; mediaTypes?: readonly string[] }
  >;
  handle(ctx: Context, input: RouteInput<Body, Query>): Promise<RouteResult>;
}

/** Keeps each route's body and query types while collecting routes of different shapes. */
export function route<Body = undefined, Query = undefined>(definition: AdminRoute<Body, Query>): AdminRoute {
  return definition as unknown as AdminRoute;
}

interface CompiledRoute {
  route: AdminRoute;
  pattern: RegExp;
  names: string[];
}

function compile(route: AdminRoute): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
}

/** An undecodable segment stays as sent: the resource lookup then finds nothing (404). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function createAdminRouter(routes: readonly AdminRoute[], authenticate: (ctx: Context) => Promise<AdminCaller>) {
  const compiled = routes.map(compile);
  const templateOf = (path: string) => compiled.find((c) => c.pattern.test(path))?.route.path;
  return {
    templateOf,
    dispatch: async function dispatch(ctx: Context, path: string): Promise<void> {
      const matches = compiled.map((c) => ({ c, m: c.pattern.exec(path) })).filter((x) => x.m);
      if (matches.length === 0) throw new KeygateError('not_found', 'no such route');
      const found = matches.find((x) => x.c.route.method === ctx.method);
      if (!found) {
        ctx.set('Allow', matches.map((x) => x.c.route.method).join(', '));
        throw new KeygateError('method_not_allowed', `${ctx.method} is not allowed here`);
      }
      const { route, names } = found.c;
      const caller = await authenticate(ctx);
      requireScope(ctx, caller, route.scope);
      const params = Object.fromEntries(names.map((name, i) => [name, decodePathSegment(found.m![i + 1]!)]));
      const query = route.query ? parseInput(route.query, { ...ctx.query }, 'query') : undefined;
      const body = route.body ? parseInput(route.body, await readJsonObject(ctx), 'request body') : undefined;
      const result = await route.handle(ctx, { params, body, query, caller });
      ctx.status = result.status;
      if (result.body !== undefined) ctx.body = result.body;
    },
  };
}
