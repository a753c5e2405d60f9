// Request bodies for Keygate's own routes: size-limited, typed by Content-Type, parse errors are 4xx.
import { parse as parseQuery } from 'node:querystring';
import type { Context } from 'koa';
import { ApiError } from './errors.ts';

/** Bodies above this are refused with 413 before being read in full. */
export const BODY_LIMIT_BYTES = 16 * 1024;

export async function readRawBody(ctx: Context, limit = BODY_LIMIT_BYTES): Promise<Buffer> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limit) throw new ApiError('payload_too_large', `body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limit) throw new ApiError('payload_too_large', `body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

function decodeUtf8(raw: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ApiError('invalid_request', 'body is not valid UTF-8');
  }
}

export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new ApiError('unsupported_media_type', 'Content-Type must be application/json');
  const text = decodeUtf8(await readRawBody(ctx));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_request', 'body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('invalid_request', 'body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** application/x-www-form-urlencoded → single-valued params; a repeated parameter is an error (RFC 6749 §3.1). */
export type FormParse = { ok: true; params: Record<string, string> } | { ok: false; message: string };

export async function readForm(ctx: Context): Promise<FormParse> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    return { ok: false, message: 'only application/x-www-form-urlencoded bodies are supported' };
  }
  const text = decodeUtf8(await readRawBody(ctx));
  const parsed = parseQuery(text);
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (Array.isArray(value)) return { ok: false, message: `'${name}' parameter must not be provided multiple times` };
    if (value !== undefined) params[name] = value;
  }
  return { ok: true, params };
}
