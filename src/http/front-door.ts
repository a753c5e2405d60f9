// Every request enters here. The routes fleets hit on every call (token issuance and
// introspection) go straight from node:http to their handler; everything else goes to the Koa app.
// A hot route gets what Koa's middleware would have given it — request id, caller IP, request
// scope, access log, a JSON 500 for a bug — from the same functions, at a fraction of the cost.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RequestRecorder } from './access-log.ts';
import { errorBody } from './errors.ts';
import { plainExchange } from './exchange.ts';
import { openRequestScope, runInRequestScope } from './request-scope.ts';
import type { Network } from '../shared/network.ts';

/**
 * The front door's contract: for each Koa middleware of app.ts, in order, what a hot route gets
 * instead. A hot route never passes through Koa, so a middleware added to the app would silently
 * not run for it: test/integration/front-door.test.ts fails until the new middleware is listed
 * here with what the hot routes do about it.
 */
export const HOT_ROUTE_CONTRACT = Object.freeze({
  enterRequestScope: 'serveHot opens the same request scope (request id, caller IP) with openRequestScope',
  logRequest: 'serveHot records the request with the same recorder, in a finally block',
  addSuccessFlag: 'not needed: only /auth/external, which is not a hot route',
  renderApiError: 'serveHot answers a bug with the same JSON 500 body; OAuth errors are written by the handlers',
  addConsoleApiHeaders: 'not needed: no console route is hot',
  routeAdmin: 'not needed: no admin route is hot',
  serveConsole: 'not needed: no console route is hot',
  route: 'the hot route map is the routing',
});

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface FrontDoorDeps {
  /** Everything that is not a hot route (Koa's app.callback()). */
  fallback: (req: IncomingMessage, res: ServerResponse) => unknown;
  /** Exact path → handler, for POST only: other methods (405) and odd URLs go to the fallback. */
  hotPosts: Record<string, RawHandler>;
  trustedProxies: readonly Network[];
  recordRequest: RequestRecorder;
  log: Logger;
}

export function createFrontDoor(deps: FrontDoorDeps) {
  const hot = new Map(Object.entries(deps.hotPosts));

  async function serveHot(handler: RawHandler, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const startedAt = process.hrtime.bigint();
    const scope = openRequestScope(req, path, deps.trustedProxies);
    res.setHeader('X-Request-Id', scope.requestId);
    try {
      await runInRequestScope(scope, () => handler(req, res));
    } catch (err) {
      deps.log.error({ err, requestId: scope.requestId, path }, 'unhandled error');
      if (res.headersSent) {
        res.destroy();
      } else {
        const exchange = plainExchange(req, res, path);
        exchange.status = 500;
        exchange.body = errorBody('internal_error', 'internal error', scope.requestId);
        exchange.respond();
      }
    } finally {
      deps.recordRequest({ method: 'POST', route: path, status: res.statusCode, startedAt, requestId: scope.requestId, ip: scope.clientIpText });
    }
  }

  return function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = req.method === 'POST' ? originFormPath(req.url) : undefined;
    const handler = path === undefined ? undefined : hot.get(path);
    if (handler) void serveHot(handler, req, res, path!);
    else deps.fallback(req, res);
  };
}

/** The path of an origin-form request target ("/a/b?q"); anything else is left to Koa's parser. */
function originFormPath(url: string | undefined): string | undefined {
  if (!url || url.charCodeAt(0) !== 0x2f /* / */) return undefined;
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
