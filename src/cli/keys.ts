// `keygate keys …`: the key lifecycle from a terminal, against the same store as the server.
import { KeygateError } from '../shared/errors.ts';
import { RESOURCE_SERVER_SCOPE, type KeyStatus, type KeyView, type ListedKeyView } from '../keys/model.ts';
import type { KeyChange, NewKey } from '../keys/schemas.ts';
import type { Actor } from '../keys/audited-change.ts';
import { readFileSync } from 'node:fs';
import type { CreatedCredentialKey, CreatedKey } from '../keys/types.ts';
import type { Runtime } from '../runtime.ts';
import { durationSeconds } from '../shared/duration.ts';

export type Flags = Record<string, string | boolean | undefined>;
export type Print = (text: string) => void;

const CLI_ACTOR: Actor = { keyId: null, userId: null, via: 'cli' };

const list = (text: unknown) => (typeof text === 'string' ? text.split(/[\s,]+/).filter(Boolean) : []);
const text = (flags: Flags, name: string) => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);

/** `--tenant`, or the first root tenant. */
export async function resolveTenant(runtime: Runtime, flags: Flags): Promise<string> {
  const given = text(flags, 'tenant');
  if (given) return given;
  const first = await runtime.tenants.findFirst();
  if (!first) throw new KeygateError('not_found', 'no tenant yet: run `keygate bootstrap` first, or pass --tenant');
  return first.id;
}

/** `--expires-in 90d` → an ISO-8601 expiry; `never` → null; absent → undefined (the default). */
function expiryFrom(flags: Flags): string | null | undefined {
  const expiresIn = text(flags, 'expires-in');
  if (expiresIn === undefined) return undefined;
  if (expiresIn === 'never') return null;
  const seconds = durationSeconds(expiresIn);
  if (seconds === undefined) {
    throw new KeygateError('validation_failed', 'arguments are invalid', [
      { field: 'expires-in', message: `'${expiresIn}' is not a duration like 90d, 12h, 30m or never` },
    ]);
  }
  return new Date(Date.now() + seconds * 1000).toISOString();
}

function numberFrom(flags: Flags, name: string): number | undefined {
  const value = text(flags, name);
  return value === undefined ? undefined : Number(value);
}

function readFileFlag(flags: Flags, name: string): string | undefined {
  const path = text(flags, name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new KeygateError('validation_failed', 'arguments are invalid', [{ field: name, message: `cannot read '${path}'` }]);
  }
}

/** `--jwks FILE`, `--tls-*`, `--secret` (update: back to a secret) and `--dpop-required true|false`, as key fields. */
function credentialsFrom(flags: Flags): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const jwks = readFileFlag(flags, 'jwks');
  if (jwks !== undefined) {
    try {
      fields.jwks = JSON.parse(jwks);
    } catch {
      throw new KeygateError('validation_failed', 'arguments are invalid', [{ field: 'jwks', message: 'the file is not JSON' }]);
    }
  }
  if (text(flags, 'tls-subject-dn') !== undefined) fields.tls_client_auth = { subject_dn: text(flags, 'tls-subject-dn') };
  if (text(flags, 'tls-san-dns') !== undefined) fields.tls_client_auth = { san_dns: text(flags, 'tls-san-dns') };
  const certificate = readFileFlag(flags, 'tls-certificate');
  if (certificate !== undefined) fields.tls_client_certificate = certificate;
  if (flags.secret === true) Object.assign(fields, { jwks: null, tls_client_auth: null, tls_client_certificate: null });
  const dpop = text(flags, 'dpop-required');
  if (dpop !== undefined) fields.dpop_required = dpop === 'true' ? true : dpop === 'false' ? false : dpop;
  return fields;
}

export async function keysCommand(runtime: Runtime, action: string | undefined, args: string[], flags: Flags, print: Print): Promise<void> {
  const json = flags.json === true;
  const service = runtime.keyService;
  const printKey = (key: KeyView) => print(json ? JSON.stringify(key) : formatKey(key));
  switch (action) {
    case 'create': {
      const scopes = list(flags.scopes);
      if (flags.introspect === true && !scopes.includes(RESOURCE_SERVER_SCOPE)) scopes.push(RESOURCE_SERVER_SCOPE);
      // Flags arrive as text; the key service validates them like any other input.
      const newKey = {
        tenant_id: await resolveTenant(runtime, flags),
        name: flags.name,
        description: flags.description,
        kind: text(flags, 'kind') ?? 'service',
        user_id: text(flags, 'user'),
        scopes,
        networks: list(flags.networks),
        expires_at: expiryFrom(flags),
        token_ttl_seconds: numberFrom(flags, 'token-ttl'),
        ...credentialsFrom(flags),
      } as NewKey;
      const created = await service.create(newKey, CLI_ACTOR);
      return print(json ? JSON.stringify(createdJson(created)) : formatCreated(created));
    }
    case 'list': {
      const keys: ListedKeyView[] = [];
      let cursor: string | undefined;
      do {
        const page = await service.list(
          {
            tenantIds: text(flags, 'tenant') ? [text(flags, 'tenant')!] : undefined,
            status: text(flags, 'status') as KeyStatus | 'expired' | undefined,
          },
          { sort: 'created_at', cursor, limit: 200 },
          CLI_ACTOR,
        );
        keys.push(...page.data);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return print(json ? JSON.stringify({ data: keys }) : keys.map(formatLine).join('\n') || '(no keys)');
    }
    case 'show':
      return printKey(await service.show(requireId(args), CLI_ACTOR));
    case 'update': {
      const update: Record<string, unknown> = {};
      if (flags.name !== undefined) update.name = flags.name;
      if (flags.description !== undefined) update.description = flags.description;
      if (flags.scopes !== undefined) update.scopes = list(flags.scopes);
      if (flags.networks !== undefined) update.networks = list(flags.networks);
      if (flags['expires-in'] !== undefined) update.expires_at = expiryFrom(flags);
      if (flags['token-ttl'] !== undefined) update.token_ttl_seconds = numberFrom(flags, 'token-ttl');
      Object.assign(update, credentialsFrom(flags));
      return printKey(await service.update(requireId(args), update as KeyChange, CLI_ACTOR));
    }
    case 'rotate': {
      const rotated = await service.rotate(requireId(args), numberFrom(flags, 'grace') ?? 0, CLI_ACTOR);
      return print(
        json
          ? JSON.stringify({ ...createdJson(rotated), previous_secret_expires_at: rotated.previous_secret_expires_at })
          : `${formatCreated(rotated)}\nprevious secret valid until ${rotated.previous_secret_expires_at ?? '(revoked now)'}`,
      );
    }
    case 'disable':
    case 'enable':
      return printKey(await service.setStatus(requireId(args), action === 'disable' ? 'disabled' : 'active', CLI_ACTOR));
    case 'delete': {
      const id = requireId(args);
      await service.delete(id, CLI_ACTOR);
      return print(json ? JSON.stringify({ deleted: id }) : `deleted ${id}`);
    }
    default:
      throw new KeygateError('invalid_request', `unknown keys command '${action ?? ''}': use create, list, show, update, rotate, disable, enable or delete`);
  }
}

function requireId(args: string[]): string {
  const [id] = args;
  if (!id) throw new KeygateError('invalid_request', 'give the key client_id');
  return id;
}

function createdJson(created: CreatedKey | CreatedCredentialKey) {
  if (!('client_secret' in created)) return { ...created.key, key_file: created.key_file };
  return { ...created.key, client_secret: created.client_secret, api_key: created.api_key, key_file: created.key_file };
}

function formatLine(key: Pick<KeyView, 'client_id' | 'kind' | 'status' | 'name' | 'scopes'>): string {
  return `${key.client_id}  ${key.status.padEnd(8)}  ${key.kind.padEnd(7)}  ${key.name}  [${key.scopes.join(' ')}]`;
}

function formatKey(key: KeyView): string {
  return Object.entries(key)
    .map(
      ([field, value]) =>
        `${field.padEnd(22)} ${Array.isArray(value) ? value.join(' ') : typeof value === 'object' && value !== null ? JSON.stringify(value) : (value ?? '-')}`,
    )
    .join('\n');
}

function formatCreated(created: CreatedKey | CreatedCredentialKey): string {
  if (!('client_secret' in created)) return [formatKey(created.key), '', `(no secret: this key authenticates with ${created.key.auth_method})`].join('\n');
  return [
    formatKey(created.key),
    '',
    `client_secret          ${created.client_secret}`,
    `api_key                ${created.api_key}`,
    '(the secret is shown only now)',
  ].join('\n');
}
