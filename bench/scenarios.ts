// What each scenario sends, and what one correct answer looks like (checked once before the load,
// so a fast stream of errors is never mistaken for performance).
import { randomBytes } from 'node:crypto';
import type { LoadSpec } from './load.ts';
import type { Credential } from './seed.ts';

export interface Scenario {
  name: string;
  what: string;
  spec: Omit<LoadSpec, 'connections' | 'rate' | 'warmupSeconds' | 'durationSeconds'>;
  expect(status: number, body: unknown): boolean;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const issued = (status: number, body: unknown) => status === 200 && typeof (body as { access_token?: unknown }).access_token === 'string';
const active = (want: boolean) => (status: number, body: unknown) => status === 200 && (body as { active?: unknown }).active === want;

export function tokenIssuance(name: string, url: string, keys: Credential[]): Scenario {
  return {
    name,
    what: `POST /oauth/token client_credentials, Basic, rotating through ${keys.length.toLocaleString('en')} keys`,
    spec: {
      url,
      method: 'POST',
      path: '/oauth/token',
      headers: FORM,
      body: 'grant_type=client_credentials',
      variants: keys.map((k) => ({ authorization: k.authorization })),
    },
    expect: issued,
  };
}

export function introspection(name: string, url: string, caller: Credential, tokens: string[], what: string, live: boolean): Scenario {
  return {
    name,
    what: `POST /oauth/introspect, ${what}`,
    spec: {
      url,
      method: 'POST',
      path: '/oauth/introspect',
      headers: { ...FORM, authorization: caller.authorization },
      variants: tokens.map((t) => ({ body: `token=${encodeURIComponent(t)}` })),
    },
    expect: active(live),
  };
}

/** POST /v1/keys/verify: a resource server checks each raw key as it arrives, the way a verify-per-call service does. */
export function keyVerification(name: string, url: string, caller: Credential, keys: Credential[]): Scenario {
  return {
    name,
    what: `POST /v1/keys/verify {api_key}, rotating through ${keys.length.toLocaleString('en')} keys`,
    spec: {
      url,
      method: 'POST',
      path: '/v1/keys/verify',
      headers: { 'content-type': 'application/json', authorization: caller.authorization },
      variants: keys.map((k) => ({ body: JSON.stringify({ api_key: `${k.clientId}.${k.secret}` }) })),
    },
    expect: (status, body) => status === 200 && (body as { valid?: unknown }).valid === true,
  };
}

export function unknownTokens(count: number): string[] {
  return Array.from({ length: count }, () => randomBytes(32).toString('base64url'));
}

export function ceiling(url: string): Scenario {
  return {
    name: 'ceiling',
    what: 'baseline: Koa + one ioredis GET of a fixed key',
    spec: { url, method: 'GET', path: '/', headers: {} },
    expect: (status) => status === 200,
  };
}

export function bareOidc(url: string, client: { id: string; secret: string }): Scenario {
  return {
    name: 'bare-oidc',
    what: 'baseline: oidc-provider POST /token, one static client, in-memory adapter',
    spec: {
      url,
      method: 'POST',
      path: '/token',
      body: 'grant_type=client_credentials',
      headers: { ...FORM, authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
    },
    expect: issued,
  };
}

export function bareHttp(url: string): Scenario {
  return {
    name: 'bare-http',
    what: 'baseline: node:http, tiny JSON',
    spec: { url, method: 'GET', path: '/', headers: {} },
    expect: (status) => status === 200,
  };
}

/** One request shaped like the first the load generator will send; throws unless it is answered as expected. */
export async function preflight(scenario: Scenario): Promise<void> {
  const { spec } = scenario;
  const variant = spec.variants?.[0] ?? {};
  const headers = { ...spec.headers, ...(variant.authorization ? { authorization: variant.authorization } : {}) };
  const response = await fetch(`${spec.url}${spec.path}`, { method: spec.method, headers, body: variant.body ?? spec.body });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: left as text
  }
  if (!scenario.expect(response.status, body)) {
    throw new Error(`${scenario.name}: unexpected answer before the load: ${response.status} ${text.slice(0, 300)}`);
  }
}
