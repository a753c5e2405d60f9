// Request bodies for Keygate's own routes: size-limited, typed by Content-Type, parse errors are 4xx.
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { KeygateError } from '../shared/errors.ts';

/** Bodies above this are refused with 413 before being read in full. */
export const BODY_LIMIT_BYTES = 16 * 1024;

export function readRawBody(req: IncomingMessage, limit = BODY_LIMIT_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new KeygateError('payload_too_large', `body exceeds ${limit} bytes`));
  // Plain 'data' events rather than an async iterator: this runs on every introspection.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const fail = (error: Error) => {
      if (!settled) reject(error);
      settled = true;
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        req.off('data', onData);
        req.resume(); // drain the rest unread, so the connection stays usable for the answer
        fail(new KeygateError('payload_too_large', `body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    });
    // The client went away mid-body (Node's 'aborted' error carries ECONNRESET, which would read
    // as a store outage): a client's doing, a 400 nobody reads, never a 5xx or a false alarm.
    // 'close' also fires after every answered request, so the error is built only when it can
    // still matter.
    const cutOff = () => {
      if (!settled) fail(new KeygateError('invalid_request', 'the request closed before its body was complete'));
    };
    req.once('error', cutOff);
    req.once('close', cutOff);
  });
}

// One decoder for every request: `decode` without `stream` keeps no state between calls.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(raw: Buffer): string {
  try {
    return strictUtf8.decode(raw);
  } catch {
    throw new KeygateError('invalid_request', 'body is not valid UTF-8');
  }
}

export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new KeygateError('unsupported_media_type', 'Content-Type must be application/json');
  return parseJsonObject(decodeUtf8(await readRawBody(ctx.req)));
}

/** readJsonObject for a raw request (the front door's hot routes have no Koa context). */
export async function readJsonObjectFrom(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!hasBodyOfType(req, 'application/json')) throw new KeygateError('unsupported_media_type', 'Content-Type must be application/json');
  return parseJsonObject(decodeUtf8(await readRawBody(req)));
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeygateError('invalid_request', 'body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeygateError('invalid_request', 'body must be a JSON object');
  }
  if (nestsDeeperThan(value, JSON_MAX_DEPTH)) throw new KeygateError('invalid_request', `body nests deeper than ${JSON_MAX_DEPTH} levels`);
  return value as Record<string, unknown>;
}

/**
 * No JSON body Keygate takes nests more than a few levels. Deeper ones are refused here, before
 * validation and its error paths walk them recursively (a 16 KiB body holds thousands of levels,
 * enough to overflow the stack). JSON.parse itself does not recurse.
 */
export const JSON_MAX_DEPTH = 32;

/** Whether `value` has objects or arrays nested more than `max` deep (the body itself is depth 1). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  // A stack of its own: this is the walk that must not recurse.
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * Parameters a form body may carry. No request Keygate takes needs more than a dozen. Past a
 * thousand, Node's and oidc-provider's parsers silently drop the rest, so a repeated or a later
 * parameter would be unseen by one reader and seen by another: bodies with more are refused.
 */
export const MAX_FORM_PARAMETERS = 64;

/** Whether a form body (its text, or its bytes as received) has more parameters than MAX_FORM_PARAMETERS. */
export function hasTooManyParameters(text: string | Buffer): boolean {
  let pairs = 1;
  for (let at = text.indexOf('&'); at !== -1; at = text.indexOf('&', at + 1)) if (++pairs > MAX_FORM_PARAMETERS) return true;
  return false;
}

export const TOO_MANY_PARAMETERS = `a form may carry at most ${MAX_FORM_PARAMETERS} parameters`;

/** application/x-www-form-urlencoded → single-valued params; a repeated parameter is an error (RFC 6749 §3.1). */
export type FormParse = { ok: true; params: Record<string, string> } | { ok: false; message: string };

export async function readForm(req: IncomingMessage): Promise<FormParse> {
  if (!hasBodyOfType(req, 'application/x-www-form-urlencoded')) {
    return { ok: false, message: 'only application/x-www-form-urlencoded bodies are supported' };
  }
  return parseForm(decodeUtf8(await readRawBody(req)));
}

/** A form body's text → single-valued params, decoded as URLSearchParams decodes them. */
export function parseForm(text: string): FormParse {
  if (hasTooManyParameters(text)) return { ok: false, message: TOO_MANY_PARAMETERS };
  // A plain object: one without a prototype is a dictionary to V8, several times slower to fill,
  // and introspection fills one per request. Readers ask for fixed names that Object.prototype
  // does not have; `__proto__` is defined as an own property, never assigned, so no body can
  // reach the prototype, and a repeated one is refused like any other name.
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(params, name)) return { ok: false, message: `'${name}' parameter must not be provided multiple times` };
    if (name === '__proto__') Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
    else params[name] = value;
  }
  return { ok: true, params };
}

/** Koa's `ctx.is(type)` for one exact media type: a body is announced, and its type matches (parameters ignored). */
function hasBodyOfType(req: IncomingMessage, mediaType: string): boolean {
  const announced = req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
  const contentType = req.headers['content-type'];
  if (!announced || contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === mediaType;
}
