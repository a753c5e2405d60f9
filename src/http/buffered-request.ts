// oidc-provider reads each request body itself, under its own limit (56 KiB, refused with 400).
// Keygate reads the body first, under the limit every route has (body.ts: 16 KiB, refused with
// 413), and hands the library this copy of the request instead: the same head and socket, the
// body replayed from memory. The library reads it as it reads any request (lib/shared/selective_body.js).
import { IncomingMessage } from 'node:http';

export function withBufferedBody(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method;
  copy.url = req.url;
  copy.headers = req.headers;
  copy.rawHeaders = req.rawHeaders;
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  // The whole body is here: its end is not an aborted request (which would destroy the socket).
  copy.complete = true;
  if (body.length > 0) copy.push(body);
  copy.push(null);
  return copy;
}
