// The slice of a Koa Context that the hot OAuth routes use. A Koa Context is one; so is the
// plain exchange the front door (http/front-door.ts) builds for a raw node:http request, which
// is how those routes skip Koa's per-request machinery without a second implementation.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Exchange {
  readonly req: IncomingMessage;
  /** Path without the query string. */
  readonly path: string;
  /** A request header, '' when absent (as Koa's ctx.get). */
  get(header: string): string;
  set(header: string, value: string): void;
  status: number;
  /** JSON-serialisable answer. */
  body: unknown;
}

/**
 * A body already serialised as JSON, for answers of a fixed shape built in one step. The front
 * door writes its text as it is; anything else that serialises it (Koa) gets the same JSON back.
 */
export class JsonText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

export interface PlainExchange extends Exchange {
  /** Writes status, headers and the JSON body, as Koa would for an object body. */
  respond(): void;
}

export function plainExchange(req: IncomingMessage, res: ServerResponse, path: string): PlainExchange {
  return new PlainNodeExchange(req, res, path);
}

class PlainNodeExchange implements PlainExchange {
  readonly req: IncomingMessage;
  readonly path: string;
  readonly #res: ServerResponse;
  #status: number | undefined;
  #body: unknown;

  constructor(req: IncomingMessage, res: ServerResponse, path: string) {
    this.req = req;
    this.#res = res;
    this.path = path;
  }

  get(header: string): string {
    const value = this.req.headers[header.toLowerCase()];
    return typeof value === 'string' ? value : '';
  }

  set(header: string, value: string): void {
    this.#res.setHeader(header, value);
  }

  // As in Koa: 404 until something answers; a body without an explicit status is a 200.
  get status(): number {
    return this.#status ?? (this.#body === undefined ? 404 : 200);
  }

  set status(code: number) {
    this.#status = code;
  }

  get body(): unknown {
    return this.#body;
  }

  set body(value: unknown) {
    this.#body = value;
  }

  respond(): void {
    const body = this.#body;
    const json = body instanceof JsonText ? body.text : JSON.stringify(body ?? null);
    // writeHead adds these to the headers set earlier (request id, Cache-Control, …).
    this.#res.writeHead(this.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json) });
    this.#res.end(json);
  }
}
