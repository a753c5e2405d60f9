// Keeps one of a listener's first requests and responses alive until V8 has settled their layout.
//
// V8 gives the objects a constructor makes room for as many properties as the largest shape its
// first few (7) reached, counting only shapes some live object still has when it decides; a full
// collection forgets the others. A replica whose first requests were a few readiness probes, with
// collections between them (warming a large key cache), could decide with none alive: every later
// request and response then had no room at all and fell into V8's slow dictionary representation
// as Node added its properties, for the life of the process. A request and a response kept alive
// keep their full shapes known.
//
// Only their shapes are needed, not what they carried. The exchange kept may be any client's, with
// its secret in a header or in its body, and its answer may set a session cookie; on a quiet
// listener (a TLS port, a single node) the thousandth request may never come. So:
// - only an exchange whose answer was written in full is kept: an abandoned one may still have a
//   handler at work on it, which must not see its request emptied;
// - a moment after both ends have closed, everything they carried or still reach is dropped
//   (headers, URL, listeners and the body they closed over, the socket and through it later
//   exchanges on the same connection, the answer's head). Values are replaced; no property is
//   added or removed, which would change the very shape they are kept for.
// After KEPT_UNTIL_REQUESTS requests, long after V8 has decided, the two objects are let go.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Requests a listener reads before it lets the exchange it kept go: far past V8's few. */
export const KEPT_UNTIL_REQUESTS = 1000;

/** How long after both ends of the kept exchange have closed its contents are dropped, ms. */
export const FORGET_AFTER_CLOSE_MS = 1000;

/** A 'request' listener's part: call it with every request and its response. */
export function shapeKeeper(): (req: IncomingMessage, res: ServerResponse) => void {
  const kept: object[] = [];
  let read = 0;
  const keepIfFirstAnswered = (req: IncomingMessage, res: ServerResponse) => {
    if (kept.length > 0 || read > KEPT_UNTIL_REQUESTS) return;
    kept.push(req, res);
    afterBothClose(req, res, () => setTimeout(() => forgetContents(req, res), FORGET_AFTER_CLOSE_MS).unref());
  };
  return (req, res) => {
    if (read > KEPT_UNTIL_REQUESTS) return;
    read += 1;
    if (read > KEPT_UNTIL_REQUESTS) kept.length = 0;
    else if (kept.length === 0) res.once('finish', () => keepIfFirstAnswered(req, res));
  };
}

function afterBothClose(req: IncomingMessage, res: ServerResponse, then: () => void): void {
  let open = 2;
  const closed = () => {
    open -= 1;
    if (open === 0) then();
  };
  // A request read to its end may have closed before its answer was written.
  if (req.closed) closed();
  else req.once('close', closed);
  res.once('close', closed);
}

const nothing = () => {};
const PARSED_URL_CACHES = ['_parsedUrl', '_parsedOriginalUrl'] as const;

/** Drops what a finished exchange carried or reaches, keeping every property it has. */
function forgetContents(req: IncomingMessage, res: ServerResponse): void {
  // Listeners' closures hold what they read (a body's chunks, in http/body.ts).
  req.removeAllListeners();
  res.removeAllListeners();
  req.headers = {};
  req.rawHeaders = [];
  req.trailers = {};
  req.rawTrailers = [];
  req.url = '/';
  // The parsed URL that Koa's request (through `parseurl`) caches on the request it has seen.
  for (const cached of PARSED_URL_CACHES) if (Object.hasOwn(req, cached)) (req as unknown as Record<string, unknown>)[cached] = null;
  // The socket outlives the exchange on a keep-alive connection and points at its current one.
  const request = req as unknown as { socket: unknown; client: unknown };
  request.socket = null;
  request.client = null;
  (res as unknown as { _onPendingData: () => void })._onPendingData = nothing;
  // The head as written (a Set-Cookie, a Location) and the headers it was made of. Headers can
  // only be removed while no head is on record, which is how a response starts out (null).
  (res as unknown as { _header: string | null })._header = null;
  for (const name of res.getHeaderNames()) res.removeHeader(name);
}
