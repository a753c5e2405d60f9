// /console/api/setup: a person sets their password with a one-time set-up link's token. The
// browser then signs in with it as usual.
import type { Context } from 'koa';
import { z } from 'zod';
import type { SessionAuthenticator } from '../../admin/session-auth.ts';
import { readJsonObject } from '../../http/body.ts';
import { currentRequestScope } from '../../http/request-scope.ts';
import { PASSWORD_MAX_LENGTH } from '../../identity/passwords.ts';
import type { SetupLinks } from '../../identity/setup-links.ts';
import { parseInput } from '../../shared/validation.ts';

const SetupBody = z.strictObject({ token: z.string().min(1).max(256), password: z.string().max(PASSWORD_MAX_LENGTH) });

export function setupRoutes(deps: { sessionAuth: SessionAuthenticator; setupLinks: SetupLinks }) {
  return {
    async POST(ctx: Context): Promise<void> {
      deps.sessionAuth.assertSameOrigin(ctx);
      const { token, password } = parseInput(SetupBody, await readJsonObject(ctx));
      const scope = currentRequestScope();
      const user = await deps.setupLinks.redeem(token, password, { ip: scope?.clientIpText ?? null, requestId: scope?.requestId ?? null });
      ctx.body = { user: { id: user.id, email: user.email, name: user.name, role: user.role, tenant_id: user.tenant_id } };
    },
  };
}
