// `keygate users invite`: a one-time set-up link for a person, created as a user first if the
// tenant has no user with that email. The link is the only way to give someone a password.
import { CreateUserBody } from '../admin/schemas.ts';
import type { Actor } from '../keys/audited-change.ts';
import type { Runtime } from '../runtime.ts';
import { KeygateError } from '../shared/errors.ts';
import { parseInput } from '../shared/validation.ts';
import { resolveTenant, type Flags, type Print } from './keys.ts';

export type UserFlags = Flags;

const CLI_ACTOR: Actor = { keyId: null, userId: null, via: 'cli' };

export async function usersCommand(runtime: Runtime, action: string | undefined, flags: UserFlags, print: Print): Promise<void> {
  if (action !== 'invite') throw new KeygateError('invalid_request', 'usage: keygate users invite --email E --role R [--tenant ID] [--name N]');
  const tenantId = await resolveTenant(runtime, flags);
  const input = parseInput(
    CreateUserBody,
    {
      email: flags.email,
      role: flags.role,
      tenant_id: tenantId,
      ...(typeof flags.name === 'string' ? { name: flags.name } : {}),
    },
    'arguments',
  );
  const existing = await runtime.users.findByEmail(tenantId, input.email);
  if (existing && existing.role !== input.role) {
    throw new KeygateError('conflict', `${input.email} already exists with the role '${existing.role}': change the role through the admin API first`);
  }
  const user = existing ?? (await runtime.userService.create({ tenantId, email: input.email, name: input.name, role: input.role }, CLI_ACTOR));
  const link = await runtime.setupLinkService.issue({ id: user.id, tenant_id: user.tenant_id }, CLI_ACTOR);
  if (flags.json) {
    print(JSON.stringify({ user_id: user.id, email: user.email, role: user.role, tenant_id: user.tenant_id, created: !existing, setup_link: link }));
    return;
  }
  print(`${existing ? 'Existing' : 'New'} user ${user.email} (${user.role}). Set-up link, works once until ${link.expires_at}:`);
  print(link.url);
}
