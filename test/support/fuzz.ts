// Property-based fuzzing over real HTTP: a raw sender (any method, duplicated headers, chunked
// bodies, arbitrary bytes), generators for hostile input, and the response invariants every
// route family must keep (README "HTTP surface" and "Admin API"; src/http/errors.ts).
import http from 'node:http';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { expect } from 'vitest';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import { ERROR_STATUS } from '../../src/http/errors.ts';

// ---------------------------------------------------------------------------------------------
// Running properties

/**
 * numRuns per property. FUZZ_SEED (and FUZZ_PATH) replay a failure: fast-check prints both.
 * FUZZ_SCALE multiplies every run count for a longer hunt (raise the vitest timeout with it).
 */
export function fuzzParameters<T>(numRuns: number): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  const scale = Number(process.env.FUZZ_SCALE ?? '1') || 1;
  return {
    numRuns: Math.max(1, Math.round(numRuns * scale)),
    ...(seed === undefined ? {} : { seed }),
    ...(process.env.FUZZ_PATH === undefined ? {} : { path: process.env.FUZZ_PATH }),
    // One run is one to three HTTP requests: anything near this is a hang, not slowness.
    timeout: 15_000,
    // Shrinking over HTTP is slow; cap the whole property so a failure is still reported (with the
    // counterexample shrunk so far) inside the test timeout. A property that never finishes its
    // runs in that time fails too rather than passing on fewer runs.
    interruptAfterTimeLimit: 100_000 * Math.max(1, scale),
    markInterruptAsFailure: true,
  };
}

/** Vitest timeout for one property (`it(..., PROPERTY_TIMEOUT)`), room for shrinking included. */
export const PROPERTY_TIMEOUT = 180_000 * Math.max(1, Number(process.env.FUZZ_SCALE ?? '1') || 1);

// ---------------------------------------------------------------------------------------------
// Raw HTTP

export interface RawRequest {
  method: string;
  /** Sent exactly as given (already percent-encoded where needed). */
  path: string;
  /** Header pairs in order, duplicates allowed. Host and Content-Length are added unless present. */
  headers: [string, string][];
  body?: Buffer | undefined;
  /** Transfer-Encoding: chunked in pieces of this many bytes, no Content-Length. */
  chunked?: number | undefined;
  /** Local source address (127.x.y.z loopback). */
  from: string;
}

/** The parts an arbitrary request is drawn from, before they become a RawRequest. */
export interface RequestParts {
  method: string;
  query: string | undefined;
  type: string | undefined;
  authorization: string | undefined;
  body: Buffer | undefined;
  extra: [string, string][];
  chunked: number | undefined;
  from: string;
}

/** Drawn parts → the request to `route` (query appended, Content-Type and Authorization first). */
export function assembleRequest(route: string) {
  return ({ method, query, type, authorization, body, extra, chunked, from }: RequestParts): RawRequest => ({
    method,
    path: query === undefined ? route : `${route}?${query}`,
    headers: [
      ...(type === undefined ? [] : [['Content-Type', type] as [string, string]]),
      ...(authorization === undefined ? [] : [['Authorization', authorization] as [string, string]]),
      ...extra,
    ],
    body,
    chunked,
    from,
  });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  body: any;
  json: boolean;
}

/** Resolves with the response; rejects (with the request summarised) on a reset, a hang or any socket error. */
export function rawSend(port: number, request: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const flat: string[] = [];
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()));
  if (!names.has('host')) flat.push('Host', `127.0.0.1:${port}`);
  for (const [name, value] of request.headers) flat.push(name, value);
  const body = request.body ?? Buffer.alloc(0);
  if (request.chunked) flat.push('Transfer-Encoding', 'chunked');
  else if (!names.has('content-length') && (body.length > 0 || request.method !== 'GET')) flat.push('Content-Length', String(body.length));
  return new Promise((resolve, reject) => {
    const fail = (why: string) => reject(new Error(`${why} for ${describeRequest(request)}`));
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        localAddress: request.from,
        method: request.method,
        path: request.path,
        headers: flat,
        agent: false,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => fail(`response error ${error.message}`));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          let json = false;
          try {
            parsed = text ? JSON.parse(text) : undefined;
            json = text !== '';
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed, json });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      fail(`no response within ${timeoutMs} ms`);
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(`connection failed (${error.code ?? error.message})`);
    });
    if (request.chunked) {
      // At most ~2000 writes: far more makes the client's own writev fail (EINVAL) before any byte is sent.
      const piece = Math.max(request.chunked, Math.ceil(body.length / 2000));
      for (let offset = 0; offset < body.length; offset += piece) req.write(body.subarray(offset, offset + piece));
      req.end();
    } else {
      req.end(body);
    }
  });
}

/**
 * Node refuses a request head over 16 KiB with its own bare 431 before any Keygate code runs; the
 * properties are about Keygate, so generated requests stay under that.
 */
export function fitsHeaderLimit(request: RawRequest): boolean {
  const head =
    request.method.length + request.path.length + 64 + request.headers.reduce((sum, [n, v]) => sum + n.length + Buffer.byteLength(v, 'latin1') + 4, 0);
  return head < 15_000;
}

export function describeRequest(request: RawRequest): string {
  const body = request.body ?? Buffer.alloc(0);
  const shown = body.length > 300 ? `${body.subarray(0, 300).toString('latin1')}… (${body.length} bytes)` : body.toString('latin1');
  return (
    `${request.method} ${request.path.length > 200 ? `${request.path.slice(0, 200)}…` : request.path} from ${request.from} `
    + `headers ${JSON.stringify(request.headers.map(([n, v]) => [n, v.length > 200 ? `${v.slice(0, 200)}… (${v.length})` : v]))} `
    + `${request.chunked ? `chunked(${request.chunked}) ` : ''}body ${JSON.stringify(shown)}`
  );
}

// ---------------------------------------------------------------------------------------------
// Source addresses. Other suites use 127.0.0.1–10 and ::1; failure counters (per IP) live in the
// shared Redis, so each fuzz suite owns a second octet of 127/8 and never locks anyone else out.

export function sourceAddress(block: number): fc.Arbitrary<string> {
  return fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map(([a, b]) => `127.${block}.${a}.${b}`);
}

/** A source address nothing in a run has used: for the final "still serving" checks. */
export function quietAddress(block: number): string {
  return `127.${block}.255.254`;
}

// ---------------------------------------------------------------------------------------------
// Text and bytes

/** Any string → bytes that are legal in a header value (UTF-8 bytes carried as latin1, no CR/LF/NUL). */
export function headerSafe(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');
}

const SPECIAL_STRINGS = [
  '',
  ' ',
  '\u0000',
  '%',
  '%zz',
  '%E0%A4%A',
  '%FF',
  '%C0%AF',
  '%00',
  '+',
  '&',
  '=',
  '&&==',
  '..',
  '/',
  '\\',
  '"',
  "'",
  '\r\n',
  '\t',
  'null',
  'undefined',
  'true',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '[]',
  '{}',
  '0',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '9007199254740993',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udfff',
  'ｋｇ＿',
  '😀',
  '<script>',
  '${7*7}',
  "' OR 1=1 --",
  '%2e%2e%2f',
  'A'.repeat(300),
];

export const junkText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 129, max: 6000 }).map((n) => 'x'.repeat(n)) },
);

/** Byte sequences that are not UTF-8: overlongs, surrogates, truncations, out of range. */
export const INVALID_UTF8: readonly number[][] = [
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xff],
  [0xfe],
  [0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc1, 0xbf],
  [0xf0, 0x80, 0x80, 0xaf],
];
export const invalidUtf8Bytes: fc.Arbitrary<Buffer> = fc.constantFrom(...INVALID_UTF8).map((b) => Buffer.from(b));

/** Text with invalid UTF-8 spliced in at a random place. */
export const textWithInvalidUtf8: fc.Arbitrary<Buffer> = fc
  .tuple(fc.string({ maxLength: 20 }), invalidUtf8Bytes, fc.string({ maxLength: 20 }))
  .map(([a, bad, b]) => Buffer.concat([Buffer.from(a), bad, Buffer.from(b)]));

// ---------------------------------------------------------------------------------------------
// Form bodies

export type Pair = [string, string];

/** application/x-www-form-urlencoded as RFC 6749 Appendix B does it. */
export function formEncode(pairs: readonly Pair[]): string {
  return pairs.map(([k, v]) => `${formComponent(k)}=${formComponent(v)}`).join('&');
}

/** Percent-encodes the UTF-8 bytes of `text` (a lone surrogate becomes U+FFFD, as any client would send it). */
export function formComponent(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9*\-._]/.test(c) ? c : byte === 0x20 ? '+' : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The same pairs, sent without any encoding: `&`, `=`, `%` and raw non-ASCII land as they are. */
export function formRaw(pairs: readonly Pair[]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export const formBody = (names: readonly string[], values: fc.Arbitrary<string> = junkText): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc
      .tuple(fc.array(fc.tuple(fc.oneof(fc.constantFrom(...names), junkText), values), { maxLength: 8 }), fc.boolean())
      .map(([pairs, raw]) => Buffer.from(raw ? formRaw(pairs) : formEncode(pairs))),
    // A parameter whose value carries bytes that are not UTF-8, percent-encoded or raw.
    fc
      .tuple(fc.constantFrom(...names), invalidUtf8Bytes, fc.boolean())
      .map(([name, bad, raw]) =>
        raw
          ? Buffer.concat([Buffer.from(`${name}=`), bad])
          : Buffer.from(`${name}=${[...bad].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')}`),
      ),
    fc.constantFrom('&', '=', '&&&', '===', 'a', 'a&a', '%', '=%', '&=&=', 'grant_type', 'grant_type=').map((s) => Buffer.from(s)),
  );

// ---------------------------------------------------------------------------------------------
// Bodies of every kind, and Content-Types

export const multipartBody: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom('xyz', '', '--', 'a'.repeat(80)), fc.array(fc.tuple(junkText, junkText), { maxLength: 3 }), fc.boolean())
  .map(([boundary, parts, close]) =>
    Buffer.from(
      parts.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('')
        + (close ? `--${boundary}--\r\n` : ''),
    ),
  );

export const jsonBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .constantFrom('{', '}', '[', '{"a":', '{"a":1,}', '{"__proto__":{"x":1}}', 'nul', '"\\ud800"', '1e999', '{"a":"\\u0000"}', '\ufeff{}')
    .map((s) => Buffer.from(s)),
  textWithInvalidUtf8.map((b) => Buffer.concat([Buffer.from('{"a":"'), b, Buffer.from('"}')])),
  // Deep nesting: a naive recursive validator would overflow its stack.
  fc.integer({ min: 100, max: 4000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
);

/** Bodies just over the Keygate limit (16 KiB), over oidc-provider's (56 KiB), and far over both. */
export const OVERSIZED_LENGTHS = [16 * 1024 + 1, 20_000, 56 * 1024 + 1, 64 * 1024 + 1, 70_000, 200_000];
export const oversizedBody = (prefix: string): fc.Arbitrary<Buffer> =>
  fc.tuple(fc.constantFrom(...OVERSIZED_LENGTHS), fc.constantFrom('x', 'a=b&', '%41', '\u00e9', '{"a":1}')).map(([length, unit]) => {
    const head = Buffer.from(prefix);
    const fill = Buffer.from(unit.repeat(Math.ceil(length / Math.max(1, Buffer.byteLength(unit)))));
    return Buffer.concat([head, fill]).subarray(0, Math.max(length, head.length));
  });

export const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'application/x-www-form-urlencoded; charset=bogus-x',
  'application/x-www-form-urlencoded; charset=utf-16le',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/x-www-form-urlencoded;;',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=ascii',
  'application/merge-patch+json',
  'text/plain',
  'text/html',
  'multipart/form-data; boundary=xyz',
  'multipart/form-data',
  'application/octet-stream',
  '*/*',
  'application/x-www-form-urlencoded, application/json',
  ';;;',
  'application/',
  '/',
  'json',
  'x'.repeat(2000),
];

/** undefined = no Content-Type header at all. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: junkText.map(headerSafe) },
  { weight: 2, arbitrary: fc.constant(undefined) },
);

export const anyBody = (formNames: readonly string[]): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { weight: 4, arbitrary: formBody(formNames) },
    { weight: 3, arbitrary: jsonBody },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: textWithInvalidUtf8 },
    { weight: 1, arbitrary: multipartBody },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: oversizedBody('') },
  );

/** How a body travels: with a Content-Length, or chunked in small or large pieces. */
export const framing: fc.Arbitrary<number | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(1, 7, 1024, 8192, 65_536) },
);

// ---------------------------------------------------------------------------------------------
// Credentials

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const base62Char = fc.constantFrom(...B62);

/** Well-formed ids and secrets that belong to nothing (src/crypto/credentials.ts). */
export const FRESH_CLIENT_IDS = Array.from({ length: 64 }, () => generateClientId());
export const FRESH_SECRETS = Array.from({ length: 64 }, () => generateClientSecret());

export function decodesTo(text: string): string[] {
  const out = [text];
  try {
    out.push(decodeURIComponent(text.replace(/\+/g, '%20')));
  } catch {
    // not decodable: only the raw form counts
  }
  out.push(new URLSearchParams(`x=${text}`).get('x') ?? '');
  return out;
}

/** Anything but `real`, including one-character edits of it and well-formed strangers. */
export function wrongSecretFor(real: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: real.length - 1 });
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.constantFrom(...FRESH_SECRETS) },
      { weight: 3, arbitrary: fc.tuple(at, base62Char).map(([i, c]) => real.slice(0, i) + c + real.slice(i + 1)) },
      { weight: 1, arbitrary: at.map((i) => real.slice(0, i) + real.slice(i + 1)) },
      { weight: 1, arbitrary: fc.tuple(at, base62Char).map(([i, c]) => real.slice(0, i) + c + real.slice(i)) },
      { weight: 1, arbitrary: at.map((i) => real.slice(0, i)) },
      { weight: 1, arbitrary: junkText.map((j) => real + j) },
      { weight: 1, arbitrary: junkText.map((j) => j + real) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          real.toUpperCase(),
          real.toLowerCase(),
          ` ${real}`,
          `${real} `,
          `${real}\u0000`,
          `${real}\n`,
          real.replace('kgs_', 'kg_'),
          real.normalize('NFKD') + '\u0301',
          '',
          `${real}${real}`,
        ),
      },
      { weight: 1, arbitrary: junkText },
    )
    .filter((secret) => !decodesTo(secret).includes(real));
}

export const base64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

/** An Authorization header value: Basic (well formed or not), Bearer, other schemes, huge. */
export function authorizationHeader(pair: fc.Arbitrary<[string, string]>): fc.Arbitrary<string> {
  const enc = formComponent;
  return fc.oneof(
    { weight: 6, arbitrary: basicHeader(pair) },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.!:% '), maxLength: 120 })
        .map((s) => `Basic ${s}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'Basic',
        'Basic ',
        'Basic =',
        `Basic ${base64(':')}`,
        `Basic ${base64('::')}`,
        `Basic ${base64('kg_x')}`,
        'Basic Og',
        'Basic ====',
        'Basic\tYTpi',
      ),
    },
    { weight: 1, arbitrary: pair.map(([i]) => `Basic ${base64(`${enc(i)}:`)}`) },
    { weight: 1, arbitrary: pair.map(([, s]) => `Basic ${base64(`:${enc(s)}`)}`) },
    { weight: 1, arbitrary: junkText.map((j) => `Basic ${base64(j)}`) },
    { weight: 2, arbitrary: junkText.map((j) => `Bearer ${headerSafe(j)}`) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: fc.constantFrom(...B62, '-', '_', '.', '~', '+', '/'), minLength: 16, maxLength: 600 }).map((t) => `Bearer ${t}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'Digest username="kg_x", realm="keygate"',
        'Negotiate YIIB',
        'Token abc',
        'HOBA x',
        'AWS4-HMAC-SHA256 Credential=x',
        'DPoP abc',
        'Bearer',
        'Bearer ',
        ',',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 9000 }).map((n) => `Basic ${'A'.repeat(n)}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 9000 }).map((n) => `Bearer ${'A'.repeat(n)}`) },
    { weight: 1, arbitrary: junkText.map(headerSafe) },
  );
}

/** HTTP Basic for an (id, secret) pair, in the RFC 6749 §2.3.1 encoding and in sloppier ones. */
export function basicHeader(pair: fc.Arbitrary<[string, string]>): fc.Arbitrary<string> {
  const enc = (s: string) => formComponent(s).replace(/\+/g, '%20');
  return fc.tuple(pair, fc.integer({ min: 0, max: 7 })).map(([[i, s], style]) => {
    switch (style) {
      case 0:
      case 1:
        return `Basic ${base64(`${enc(i)}:${enc(s)}`)}`;
      case 2:
        return `Basic ${base64(`${i}:${s}`)}`;
      case 3:
        return `basic ${base64(`${enc(i)}:${enc(s)}`).replace(/=+$/, '')}`;
      case 4:
        return `Basic ${Buffer.from(`${enc(i)}:${enc(s)}`).toString('base64url')}`;
      case 5:
        return `Basic  ${base64(`${enc(i)}:${enc(s)}`)}  `;
      case 6:
        return `Basic ${base64(`${enc(i)}:${enc(s)}`)}===`;
      default:
        return `Basic ${base64(Buffer.concat([Buffer.from(`${i}:`), Buffer.from([0xff, 0xfe]), Buffer.from(s)]))}`;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Addresses

const nonAsciiHops = ['１２７.0.0.1', '198.51.100.7\u00a0', 'ｆｅ８０::1', '٢٠٣.٠.١١٣.٩', '192.0.2.1\u200b', 'адрес'];
const oddHops = [
  'fe80::1%eth0',
  'fe80::1%25eth0',
  '::ffff:192.0.2.7',
  '::ffff:c000:0207',
  '[::1]',
  '[2001:db8::1]:443',
  '192.0.2.7:8080',
  'unknown',
  '_hidden',
  '',
  ' ',
  '0.0.0.0',
  '255.255.255.255',
  '192.0.2.07',
  '0300.0.2.7',
  '0xc0.0.2.7',
  '3221225991',
  '192.0.2',
  '192.0.2.7.',
  '192.0.2.7/24',
  '::',
  '::1',
  '1::1::1',
  'gggg::1',
  '192.0.2.256',
  '-1.0.0.0',
  '192.0.2.7 , 10.0.0.1',
  'for=192.0.2.7',
  '"192.0.2.7"',
  '192.0.2.7;proto=https',
  '2001:db8::1%',
  '::ffff:256.0.0.1',
];

export const ipHop: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4Extended() },
  { weight: 3, arbitrary: fc.constantFrom(...oddHops) },
  { weight: 1, arbitrary: fc.constantFrom(...nonAsciiHops) },
  { weight: 1, arbitrary: junkText },
  { weight: 1, arbitrary: fc.tuple(fc.ipV6(), junkText).map(([ip, zone]) => `${ip}%${zone}`) },
);

export const forwardedFor = (hop: fc.Arbitrary<string> = ipHop): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.array(hop, { minLength: 1, maxLength: 8 }), fc.constantFrom(',', ', ', ' ,  ', ',,'))
        .map(([hops, sep]) => headerSafe(hops.join(sep))),
    },
    // Huge lists (header stays under Node's 16 KiB header limit).
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 700 }).map((n) => Array.from({ length: n }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`).join(',')) },
    { weight: 1, arbitrary: junkText.map(headerSafe) },
  );

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const FOUR_OCTETS = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

/**
 * Independent reading of a client_ip / X-Forwarded-For hop: a plain address, no zone, IPv4-mapped →
 * IPv4. IPv4-compatible `::a.b.c.d` stays IPv6 (ipaddr.js alone would read it as IPv4-mapped).
 */
export function strictAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const t = text.trim();
  if (t.includes('%')) return undefined;
  if (FOUR_OCTETS.test(t)) return ipaddr.IPv4.parse(t);
  if (!t.includes(':') || !ipaddr.IPv6.isValid(t)) return undefined;
  if (t.startsWith('::') && t.includes('.') && t.lastIndexOf(':') === 1) {
    if (!FOUR_OCTETS.test(t.slice(2))) return undefined;
    const [a, b, c, d] = t.slice(2).split('.').map(Number) as [number, number, number, number];
    return ipaddr.IPv6.parse(`::${(a * 256 + b).toString(16)}:${(c * 256 + d).toString(16)}`);
  }
  return ipaddr.process(t);
}

/**
 * Independent reading of one X-Forwarded-For hop: strictAddress, after dropping the port of
 * `a.b.c.d:port` and the brackets (and port) of `[v6]` / `[v6]:port`.
 */
export function strictHop(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const t = text.trim();
  const v4 = /^([\d.]+):(\d+)$/.exec(t);
  if (v4) return v4[2]!.length <= 5 && Number(v4[2]) <= 65_535 && FOUR_OCTETS.test(v4[1]!) ? ipaddr.IPv4.parse(v4[1]!) : undefined;
  const v6 = /^\[([^\]]*)\](?::(\d+))?$/.exec(t);
  if (v6) {
    const port = v6[2];
    if (port !== undefined && (port.length > 5 || Number(port) > 65_535)) return undefined;
    return v6[1]!.includes(':') && v6[1] === v6[1]!.trim() ? strictAddress(v6[1]!) : undefined;
  }
  return strictAddress(t);
}

export function inCidr(address: ipaddr.IPv4 | ipaddr.IPv6 | undefined, cidr: string): boolean {
  if (!address) return false;
  const range = ipaddr.parseCIDR(cidr);
  return range[0].kind() === address.kind() && address.match(range);
}

// ---------------------------------------------------------------------------------------------
// Invariants

export const KEYGATE_ERROR_CODES = Object.keys(ERROR_STATUS) as (keyof typeof ERROR_STATUS)[];
const OAUTH_STATUSES = [400, 401, 405, 413, 415, 429];
/** RFC 6749 §5.2 error code characters. */
const OAUTH_ERROR = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

export const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };

function context(response: RawResponse, request?: RawRequest): string {
  return `${response.status} ${response.text.slice(0, 500)}${request ? `\n  for ${describeRequest(request)}` : ''}`;
}

/** Never a 5xx: not 500, and no 503 either, since every store is up during these suites. */
export function expectNoServerError(response: RawResponse, request?: RawRequest): void {
  expect(response.status, `server error: ${context(response, request)}`).toBeLessThan(500);
  expect(response.status, `not an HTTP status: ${context(response, request)}`).toBeGreaterThanOrEqual(200);
}

/** 429 answers say when to come back. */
function expectRetryAfter(response: RawResponse, request?: RawRequest): void {
  if (response.status !== 429) return;
  expect(response.headers['retry-after'], `429 without Retry-After: ${context(response, request)}`).toMatch(/^\d+$/);
}

/**
 * OAuth routes (/oauth/token, /oauth/introspect, /oauth/revoke) answering a POST: RFC 6749 §5.2
 * errors, `{error, error_description?}`; a 401 carries a Basic challenge when the client used
 * the Authorization header; `invalid_client` bodies are all the same.
 */
export function expectOAuthErrorShape(response: RawResponse, request?: RawRequest): void {
  expectNoServerError(response, request);
  expect(OAUTH_STATUSES, `unexpected OAuth status: ${context(response, request)}`).toContain(response.status);
  expect(response.headers['content-type'], `OAuth error not JSON: ${context(response, request)}`).toMatch(/^application\/json/);
  const body = response.body;
  expect(body !== null && typeof body === 'object' && !Array.isArray(body), `OAuth error body not an object: ${context(response, request)}`).toBe(true);
  expect(typeof body.error === 'string' && OAUTH_ERROR.test(body.error), `OAuth 'error' not an RFC 6749 code: ${context(response, request)}`).toBe(true);
  if ('error_description' in body) {
    expect(typeof body.error_description, `error_description not a string: ${context(response, request)}`).toBe('string');
  }
  if (body.error === 'invalid_client') {
    expect(body, `invalid_client bodies must all be the same: ${context(response, request)}`).toEqual(INVALID_CLIENT);
  }
  if (response.status === 401) {
    expect(body.error, `401 that is not invalid_client: ${context(response, request)}`).toBe('invalid_client');
    const usedHeader = request?.headers.some(([n]) => n.toLowerCase() === 'authorization');
    if (usedHeader) {
      expect(response.headers['www-authenticate'], `401 without a Basic challenge: ${context(response, request)}`).toMatch(/^Basic /);
    }
  }
  expectRetryAfter(response, request);
}

/** Keygate's own error shape: `{error: {code, message, request_id, details?}}`, status = ERROR_STATUS[code]. */
export function expectKeygateErrorShape(response: RawResponse, request?: RawRequest, options: { external?: boolean } = {}): void {
  expectNoServerError(response, request);
  expect(response.status, `not an error status: ${context(response, request)}`).toBeGreaterThanOrEqual(400);
  expect(response.headers['content-type'], `error not JSON: ${context(response, request)}`).toMatch(/^application\/json/);
  const body = response.body;
  expect(body !== null && typeof body === 'object' && !Array.isArray(body), `error body not an object: ${context(response, request)}`).toBe(true);
  expect(Object.keys(body).sort(), `error envelope keys: ${context(response, request)}`).toEqual(options.external ? ['error', 'success'] : ['error']);
  if (options.external) expect(body.success, `/auth/external error without success:false: ${context(response, request)}`).toBe(false);
  const error = body.error;
  expect(error !== null && typeof error === 'object', `error not an object: ${context(response, request)}`).toBe(true);
  for (const key of Object.keys(error)) {
    expect(['code', 'message', 'request_id', 'details'], `unexpected error field '${key}': ${context(response, request)}`).toContain(key);
  }
  expect(KEYGATE_ERROR_CODES, `code not in the closed list: ${context(response, request)}`).toContain(error.code);
  expect(response.status, `status does not match ERROR_STATUS[${String(error.code)}]: ${context(response, request)}`).toBe(
    ERROR_STATUS[error.code as keyof typeof ERROR_STATUS],
  );
  expect(typeof error.message === 'string' && error.message.length > 0, `message: ${context(response, request)}`).toBe(true);
  expect(error.request_id, `request_id must match X-Request-Id: ${context(response, request)}`).toBe(response.headers['x-request-id']);
  expect(typeof error.request_id === 'string' && error.request_id.length > 0, `request_id: ${context(response, request)}`).toBe(true);
  if ('details' in error) {
    expect(Array.isArray(error.details), `details not a list: ${context(response, request)}`).toBe(true);
    for (const detail of error.details) {
      expect(Object.keys(detail).sort(), `detail shape: ${context(response, request)}`).toEqual(['field', 'message']);
      expect(typeof detail.field === 'string' && typeof detail.message === 'string', `detail types: ${context(response, request)}`).toBe(true);
    }
  }
  if (response.status === 405) expect(response.headers.allow, `405 without Allow: ${context(response, request)}`).toMatch(/^[A-Z]+(, [A-Z]+)*$/);
  expectRetryAfter(response, request);
}

/** A 2xx whose body is JSON (or empty for 204). */
export function expectJsonSuccess(response: RawResponse, request?: RawRequest): void {
  expectNoServerError(response, request);
  if (response.status === 204) {
    expect(response.text, `204 with a body: ${context(response, request)}`).toBe('');
    return;
  }
  expect(response.json, `2xx body not JSON: ${context(response, request)}`).toBe(true);
}

/** No access token, in any envelope, in this response. */
export function expectNoToken(response: RawResponse, request?: RawRequest): void {
  expect(response.status, `a token for bad credentials: ${context(response, request)}`).not.toBe(200);
  expect(response.status, `success for bad credentials: ${context(response, request)}`).not.toBe(201);
  expect(response.text, `token-looking field in a denial: ${context(response, request)}`).not.toMatch(/access_token|accessToken|"token"\s*:/);
}

/** The RFC 7662 active answer Keygate documents (README "Introspection"). */
export function expectIntrospectionAnswer(response: RawResponse, request?: RawRequest): void {
  expect(response.status).toBe(200);
  const body = response.body;
  if (body?.active === false) {
    expect(body, `inactive answers carry nothing else: ${context(response, request)}`).toEqual({ active: false });
    return;
  }
  expect(body, `introspection answer: ${context(response, request)}`).toEqual({
    active: true,
    scope: expect.any(String),
    client_id: expect.stringMatching(/^kg_[0-9A-Za-z]{22}$/),
    sub: expect.any(String),
    tenant_id: expect.any(String),
    key_kind: expect.stringMatching(/^(service|user)$/),
    token_type: 'Bearer',
    iat: expect.any(Number),
    exp: expect.any(Number),
    iss: expect.any(String),
  });
}

/** One Keygate-route response: an error in the documented shape, or a JSON success. */
export function expectKeygateResponse(response: RawResponse, request?: RawRequest, options: { external?: boolean } = {}): void {
  if (response.status >= 400) expectKeygateErrorShape(response, request, options);
  else expectJsonSuccess(response, request);
}

/** Tallies of statuses seen, so a property can show it exercised what it claims to. */
export class StatusTally {
  readonly counts = new Map<number, number>();
  add(status: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
  }
  get(status: number): number {
    return this.counts.get(status) ?? 0;
  }
  toString(): string {
    return [...this.counts]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
  }
}

// ---------------------------------------------------------------------------------------------
// Request pieces shared by the suites

/** Anything Node will put on a request line: bytes outside 0x21–0x7e are percent-encoded (UTF-8). */
export function pathSafe(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) => (b > 0x20 && b < 0x7f && b !== 0x23 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

/** A query string (without `?`): junk pairs, duplicates, bad escapes, invalid UTF-8. */
export const queryString = (names: readonly string[], values: fc.Arbitrary<string> = junkText): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .array(fc.tuple(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: junkText }), values), { maxLength: 6 })
        .map((pairs) => formEncode(pairs)),
    },
    { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom(...names), values), { maxLength: 4 }).map((pairs) => pathSafe(formRaw(pairs))) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...names), invalidUtf8Bytes)
        .map(([n, b]) => `${n}=${[...b].map((x) => `%${x.toString(16).toUpperCase()}`).join('')}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', '&', '=', '&&', '%', '%zz', 'a[b]=c', 'a[]=1&a[]=2', '__proto__[x]=1', 'constructor=1', `x=${'y'.repeat(7000)}`),
    },
  );

/** Extra headers a hostile client adds. */
export function extraHeaders(secondAuthorization?: fc.Arbitrary<string>): fc.Arbitrary<[string, string][]> {
  const header: fc.Arbitrary<[string, string]> = fc.oneof(
    { weight: 3, arbitrary: forwardedFor().map((v): [string, string] => ['X-Forwarded-For', v]) },
    { weight: 1, arbitrary: junkText.map((v): [string, string] => ['X-Request-Id', headerSafe(v)]) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('keygate.test', 'evil.example', '', '[::1', 'a'.repeat(300), 'host:99999', 'ｈｏｓｔ')
        .map((v): [string, string] => ['Host', headerSafe(v)]),
    },
    { weight: 1, arbitrary: fc.constantFrom('*/*', 'text/html', 'application/xml', '', 'application/json;q=0').map((v): [string, string] => ['Accept', v]) },
    { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES).map((v): [string, string] => ['Content-Type', v]) },
    { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-junk').map((v): [string, string] => ['Content-Encoding', v]) },
    { weight: 1, arbitrary: fc.constant<[string, string]>(['Expect', '100-continue']) },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT').map((v): [string, string] => ['X-HTTP-Method-Override', v]) },
    { weight: 1, arbitrary: junkText.map((v): [string, string] => ['Cookie', headerSafe(v)]) },
    { weight: 1, arbitrary: fc.constantFrom('https://evil.example', 'null', '').map((v): [string, string] => ['Origin', v]) },
    { weight: 1, arbitrary: fc.constantFrom('for=192.0.2.7', 'for="[2001:db8::1]"', 'junk').map((v): [string, string] => ['Forwarded', v]) },
    { weight: 1, arbitrary: fc.constantFrom('192.0.2.7', 'junk').map((v): [string, string] => ['X-Real-IP', v]) },
    ...(secondAuthorization ? [{ weight: 1, arbitrary: secondAuthorization.map((v): [string, string] => ['Authorization', v]) }] : []),
  );
  return fc.array(header, { maxLength: 3 });
}

export const OTHER_METHODS = ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'] as const;
