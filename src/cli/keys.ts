// `keygate keys …`: the key lifecycle from a terminal, against the same store as the server.
import { ApiError } from '../http/errors.ts';
import { INTROSPECT_SCOPE, type KeyKind, type KeyStatus, type KeyView } from '../keys/model.ts';
import type { Actor, CreatedKey } from '../keys/service.ts';
import type { Runtime } from '../runtime.ts';
import { parseDuration } from './duration.ts';

export type Flags = Record<string, string | boolean | undefined>;
export type Print = (text: string) => void;

const CLI_ACTOR: Actor = { keyId: null, userId: null, via: 'cli' };

const list = (text: unknown) => (typeof text === 'string' ? text.split(/[\s,]+/).filter(Boolean) : []);

async function resolveTenant(runtime: Runtime, flags: Flags): Promise<string> {
  if (typeof flags.tenant === 'string') return flags.tenant;
  const first = await runtime.tenants.findFirst();
  if (!first) throw new ApiError('not_found', 'no tenant yet: run `keygate bootstrap` first, or pass --tenant');
  return first.id;
}

export async function keysCommand(runtime: Runtime, action: string | undefined, args: string[], flags: Flags, print: Print): Promise<void> {
  const json = flags.json === true;
  switch (action) {
    case 'create': {
      const scopes = list(flags.scopes);
      if (flags.introspect === true && !scopes.includes(INTROSPECT_SCOPE)) scopes.push(INTROSPECT_SCOPE);
      const expiresIn = typeof flags['expires-in'] === 'string' ? flags['expires-in'] : undefined;
      const ttl = typeof flags['token-ttl'] === 'string' ? Number(flags['token-ttl']) : undefined;
      const created = await runtime.keyService.create({
        tenantId: await resolveTenant(runtime, flags),
        name: flags.name,
        description: flags.description,
        kind: (flags.kind as KeyKind | undefined) ?? 'service',
        userId: typeof flags.user === 'string' ? flags.user : null,
        scopes,
        networks: list(flags.networks),
        expiresAt: expiresIn === undefined ? undefined : expiresIn === 'never' ? null : new Date(Date.now() + parseDuration(expiresIn)),
        tokenTtlSeconds: ttl,
      }, CLI_ACTOR);
      return print(json ? JSON.stringify(createdJson(created)) : formatCreated(created));
    }
    case 'list': {
      const keys = await runtime.keyService.list({
        tenantId: typeof flags.tenant === 'string' ? flags.tenant : undefined,
        status: flags.status as KeyStatus | 'expired' | undefined,
      });
      return print(json ? JSON.stringify({ data: keys }) : keys.map(formatLine).join('\n') || '(no keys)');
    }
    case 'show':
      return printKey(await runtime.keyService.show(requireId(args)));
    case 'disable':
    case 'enable':
      return printKey(await runtime.keyService.setStatus(requireId(args), action === 'disable' ? 'disabled' : 'active', CLI_ACTOR));
    case 'delete': {
      const id = requireId(args);
      await runtime.keyService.delete(id, CLI_ACTOR);
      return print(json ? JSON.stringify({ deleted: id }) : `deleted ${id}`);
    }
    default:
      throw new ApiError('invalid_request', `unknown keys command '${action ?? ''}': use create, list, show, disable, enable or delete`);
  }

  function printKey(key: KeyView) {
    print(json ? JSON.stringify(key) : formatKey(key));
  }
}

function requireId(args: string[]): string {
  const [id] = args;
  if (!id) throw new ApiError('invalid_request', 'give the key client_id');
  return id;
}

function createdJson(created: CreatedKey) {
  return { ...created.key, client_secret: created.client_secret, api_key: created.api_key, key_file: created.key_file };
}

function formatLine(key: KeyView): string {
  return `${key.client_id}  ${key.status.padEnd(8)}  ${key.kind.padEnd(7)}  ${key.name}  [${key.scopes.join(' ')}]`;
}

function formatKey(key: KeyView): string {
  return Object.entries(key).map(([field, value]) => `${field.padEnd(22)} ${Array.isArray(value) ? value.join(' ') : value ?? '-'}`).join('\n');
}

function formatCreated(created: CreatedKey): string {
  return [
    formatKey(created.key),
    '',
    `client_secret          ${created.client_secret}`,
    `api_key                ${created.api_key}`,
    '(the secret is shown only now)',
  ].join('\n');
}
