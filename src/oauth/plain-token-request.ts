// The token request nearly every client sends — client_credentials, the key's secret in Basic or
// in the form, no proof, no certificate, nothing else — answered without oidc-provider's request
// pipeline (its Koa app, body parsing, parameter assembly, client hooks): the same token policy
// (pipeline.ts, steps 1–13, as the API-key exchanges run it), the same minter and the same JSON.
//
// Only a granted token is answered here. A refusal with no effect yet (any step but the issuance
// limit) hands the request to the library, which runs the policy again, answers and audits the
// refusal exactly as it would have. Anything this file does not recognise goes there too, before
// any step runs.
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../http/exchange.ts';
import { presentedCredentials } from './client-credentials.ts';
import type { MintedToken, TokenMinter } from './mint.ts';
import type { TokenPolicyDeps } from './pipeline.ts';
import { runTokenPolicyForRequest } from './request-policy.ts';
import { parseScopeParam } from './policy/scopes.ts';
import { UNAVAILABLE_DESCRIPTION } from './denials.ts';
import { isConnectionFailure } from '../shared/store-failures.ts';

/** The form parameters a plain request may carry; any other one goes to the library. */
const PLAIN_PARAMETERS = new Set(['grant_type', 'scope', 'client_id', 'client_secret']);

/**
 * A header that asks for something more than a plain request: a DPoP proof. (An Origin or client
 * attestation never gets this far: index.ts refuses both before any lookup.)
 */
const NOT_PLAIN_HEADERS = ['dpop'] as const;

/**
 * The form of a plain client_credentials request, or undefined when the library must see it.
 * `parameters` is the body read as a form (index.ts), undefined when it is not one.
 */
export function plainTokenForm(
  req: IncomingMessage,
  parameters: URLSearchParams | undefined,
  certificatePresented: boolean,
): Record<string, string> | undefined {
  if (certificatePresented || parameters === undefined) return undefined;
  const { headers } = req;
  for (const name of NOT_PLAIN_HEADERS) if (headers[name] !== undefined) return undefined;
  const type = headers['content-type'];
  if (type === undefined || !/^application\/x-www-form-urlencoded\s*(?:;\s*charset=utf-8\s*)?$/i.test(type)) return undefined;
  const params: Record<string, string> = {};
  for (const [name, value] of parameters) {
    // Unknown, repeated or empty parameters: the library has its own rules for each.
    if (!PLAIN_PARAMETERS.has(name) || Object.hasOwn(params, name) || value === '') return undefined;
    params[name] = value;
  }
  return params.grant_type === 'client_credentials' ? params : undefined;
}

/** The token response (RFC 6749 §5.1) as the grant (token-grant.ts) answers it, serialised in one step. */
export function tokenResponseJson(token: MintedToken): string {
  return `{"access_token":${JSON.stringify(token.accessToken)},"token_type":"${token.tokenType}","expires_in":${token.expiresIn},"scope":${JSON.stringify(token.scope)}}`;
}

export interface PlainTokenDeps extends TokenPolicyDeps {
  mintToken: TokenMinter;
}

/** The library's answer while a store is down (denials.ts, unavailableError). */
export const UNAVAILABLE_JSON = JSON.stringify({ error: 'temporarily_unavailable', error_description: UNAVAILABLE_DESCRIPTION });

/** The library's answer to a key over its issuance rate (denials.ts, rateLimitedError). */
export const RATE_LIMITED_JSON = JSON.stringify({ error: 'rate_limited', error_description: 'too many requests; retry after the time in Retry-After' });

export interface PlainTokenAnswer {
  status: 200 | 429 | 503;
  json: string;
  retryAfterSeconds?: number;
}

/**
 * Runs the token policy for a plain request. Returns a granted token's answer; a 429 when the
 * key's issuance limit refused it, or a 503 when a store could not answer (steps that may have
 * counted the request already, so they must not run twice); or undefined: the library answers.
 */
export async function answerPlainTokenRequest(deps: PlainTokenDeps, ctx: Exchange, form: Record<string, string>): Promise<PlainTokenAnswer | undefined> {
  try {
    return await answer(deps, ctx, form);
  } catch (error) {
    if (!isConnectionFailure(error)) throw error;
    return { status: 503, json: UNAVAILABLE_JSON };
  }
}

async function answer(deps: PlainTokenDeps, ctx: Exchange, form: Record<string, string>): Promise<PlainTokenAnswer | undefined> {
  const presented = presentedCredentials(ctx, form);
  if (!presented.ok) return undefined;
  const credentials = { clientId: presented.clientId, secret: presented.clientSecret };
  const outcome = await runTokenPolicyForRequest(deps, credentials, parseScopeParam(form.scope), 'token');
  if (!outcome.ok) {
    // Refused by the issuance limit (the last step, which has counted this request).
    if (outcome.reason === 'rate_limited' && outcome.key && outcome.retryAfterSeconds !== undefined) {
      return { status: 429, json: RATE_LIMITED_JSON, retryAfterSeconds: outcome.retryAfterSeconds };
    }
    return undefined;
  }
  const token = await deps.mintToken(outcome.key, outcome.scopes, outcome.secretGeneration);
  return { status: 200, json: tokenResponseJson(token) };
}
