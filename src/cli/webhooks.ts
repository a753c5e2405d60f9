// `keygate webhooks …`: a tenant's webhook endpoints from a terminal, as the operator (no tenant
// or scope bounds, like every CLI command), through the same service as the admin API.
import type { EventType } from '../keys/events.ts';
import type { Actor } from '../keys/audited-change.ts';
import type { WebhookView } from '../events/webhooks.ts';
import type { Runtime } from '../runtime.ts';
import { KeygateError } from '../shared/errors.ts';
import type { Flags, Print } from './keys.ts';

const CLI_ACTOR: Actor = { keyId: null, userId: null, via: 'cli' };

const text = (flags: Flags, name: string) => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);
const list = (value: string | undefined) => (value === undefined ? undefined : (value.split(/[\s,]+/).filter(Boolean) as EventType[]));

function requireArg(args: string[], index: number, what: string): string {
  const value = args[index];
  if (!value) throw new KeygateError('invalid_request', `give the ${what}`);
  return value;
}

export async function webhooksCommand(runtime: Runtime, action: string | undefined, args: string[], flags: Flags, print: Print): Promise<void> {
  const json = flags.json === true;
  const service = runtime.webhookService;
  const show = (webhook: WebhookView) => print(json ? JSON.stringify(webhook) : formatWebhook(webhook));
  const withSecret = (result: { webhook: WebhookView; secret: string }) =>
    print(json ? JSON.stringify(result) : `${formatWebhook(result.webhook)}\n\nsecret                 ${result.secret}\n(the secret is shown only now)`);
  switch (action) {
    case 'create': {
      const tenantId = text(flags, 'tenant') ?? (await runtime.tenants.findFirst())?.id;
      const input = { url: text(flags, 'url') ?? '', event_types: list(text(flags, 'events')) ?? [], description: text(flags, 'description') };
      return withSecret(await service.create({ ...input, ...(tenantId ? { tenant_id: tenantId } : {}) }, CLI_ACTOR));
    }
    case 'list': {
      const tenantIds = text(flags, 'tenant') ? [text(flags, 'tenant')!] : await runtime.tenants.allIds();
      const webhooks = await service.list(CLI_ACTOR, tenantIds);
      return print(
        json
          ? JSON.stringify({ data: webhooks })
          : webhooks.map((w) => `${w.id}  ${w.status.padEnd(8)}  ${w.url}  [${w.event_types.join(' ')}]`).join('\n') || '(no webhooks)',
      );
    }
    case 'show':
      return show(await service.show(requireArg(args, 0, 'webhook id'), CLI_ACTOR));
    case 'update': {
      const change = {
        ...(text(flags, 'url') === undefined ? {} : { url: text(flags, 'url') }),
        ...(text(flags, 'description') === undefined ? {} : { description: text(flags, 'description') }),
        ...(text(flags, 'events') === undefined ? {} : { event_types: list(text(flags, 'events')) }),
      };
      return show(await service.update(requireArg(args, 0, 'webhook id'), change, CLI_ACTOR));
    }
    case 'rotate-secret':
      return withSecret(await service.rotateSecret(requireArg(args, 0, 'webhook id'), CLI_ACTOR));
    case 'disable':
    case 'enable':
      return show(await service.setStatus(requireArg(args, 0, 'webhook id'), action === 'disable' ? 'disabled' : 'active', CLI_ACTOR));
    case 'delete': {
      const id = requireArg(args, 0, 'webhook id');
      await service.delete(id, CLI_ACTOR);
      return print(json ? JSON.stringify({ deleted: id }) : `deleted ${id}`);
    }
    case 'deliveries': {
      const deliveries = await service.deliveries(requireArg(args, 0, 'webhook id'), CLI_ACTOR);
      return print(
        json
          ? JSON.stringify({ data: deliveries })
          : deliveries
              .map(
                (d) =>
                  `${d.id}  ${d.status.padEnd(9)}  ${d.type}  attempts=${d.attempts}  last=${d.attempt_log.at(-1)?.status_code ?? d.attempt_log.at(-1)?.error ?? '-'}`,
              )
              .join('\n') || '(no deliveries)',
      );
    }
    case 'redeliver': {
      const delivery = await service.redeliver(requireArg(args, 0, 'webhook id'), requireArg(args, 1, 'delivery id'), CLI_ACTOR);
      return print(json ? JSON.stringify(delivery) : `queued ${delivery.id} (event ${delivery.event_id})`);
    }
    default:
      throw new KeygateError(
        'invalid_request',
        `unknown webhooks command '${action ?? ''}': use create, list, show, update, rotate-secret, disable, enable, delete, deliveries or redeliver`,
      );
  }
}

function formatWebhook(webhook: WebhookView): string {
  return Object.entries(webhook)
    .map(([field, value]) => `${field.padEnd(22)} ${Array.isArray(value) ? value.join(' ') : (value ?? '-')}`)
    .join('\n');
}
