// The only place that reads the environment. Each field documents its unit and default;
// a bad value stops the process with a message naming the variable.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseNetworkList, type Network } from './shared/network.ts';
import { createPepperRing, type Pepper, type PepperRing } from './crypto/secret-hash.ts';
import { DEFAULT_ROLE_SCOPES, ROLES, type RoleScopes } from './identity/roles.ts';
import { parseRedisUrl } from './stores/redis-connection.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z.string().trim().min(1).optional();
const integer = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));

/** A URL redis-connection.ts can connect to: one node, Sentinel or Cluster. */
const redisUrl = z
  .string()
  .trim()
  .optional()
  .superRefine((value, ctx) => {
    if (value === undefined) return;
    try {
      parseRedisUrl(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/** Environment variable name → its schema. The README configuration table is generated from this. */
export const ENVIRONMENT = {
  PORT: { doc: 'TCP port the HTTP server listens on.', default: '3000', schema: integer(0, 65535, 3000) },
  HOST: { doc: 'Address to bind; `::` listens on IPv6 and IPv4.', default: '0.0.0.0', schema: z.string().trim().min(1).default('0.0.0.0') },
  DATABASE_URL: {
    doc: 'Postgres connection URL. Unset: embedded Postgres under `KEYGATE_DATA_DIR`.',
    default: '(embedded)',
    schema: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  },
  REDIS_URL: {
    doc: 'Redis for token state: `redis://` or `rediss://` (one node), `redis+sentinel://[:password@]host:port,…/<master>[?db=N]`, `redis+cluster://[:password@]host:port,…`. Unset: in-memory store, single process only.',
    default: '(in-memory)',
    schema: redisUrl,
  },
  KEYGATE_ISSUER: {
    doc: 'Public base URL of this server; the OAuth `iss` and the base of `token_url`.',
    default: 'http://localhost:$PORT',
    schema: z.url({ protocol: /^https?$/ }).optional(),
  },
  KEYGATE_DATA_DIR: {
    doc: 'Directory for embedded Postgres data and the generated local pepper.',
    default: './.data',
    schema: z.string().trim().min(1).default('./.data'),
  },
  KEYGATE_TRUSTED_PROXIES: {
    doc: 'Comma-separated addresses or CIDRs of reverse proxies whose `X-Forwarded-For` is believed.',
    default: '(none)',
    schema: optionalText,
  },
  KEYGATE_SECRET_PEPPER: {
    doc: 'HMAC pepper for stored secrets: `2:<new>,1:<old>` (first is current) or one value (= version 1), ≥ 32 characters each. Required with `DATABASE_URL`.',
    default: '(generated into the data dir when embedded)',
    schema: optionalText,
  },
  KEYGATE_TOKEN_TTL_SECONDS: { doc: 'Default access-token lifetime for new keys, in seconds (60–86400).', default: '3600', schema: integer(60, 86_400, 3600) },
  KEYGATE_AUTH_FAILURES_PER_CLIENT: {
    doc: 'Failed authentications naming one client id from one source (an IPv4 address, or an IPv6 /64) per window before that client id gets 429 from that source, even with the right secret. The same client id from any other source is not affected.',
    default: '10',
    schema: integer(1, 1_000_000, 10),
  },
  KEYGATE_AUTH_FAILURES_PER_IP: {
    doc: 'Failed authentications from one source (an IPv4 address, or an IPv6 /64), whatever client ids they name, per window before every request from it gets 429.',
    default: '100',
    schema: integer(1, 1_000_000, 100),
  },
  KEYGATE_AUTH_FAILURE_WINDOW_SECONDS: { doc: 'Length of the failed-authentication window, in seconds.', default: '60', schema: integer(1, 86_400, 60) },
  KEYGATE_MIGRATE_ON_START: {
    doc: '`true` runs migrations when the server starts (always on for embedded Postgres).',
    default: 'false',
    schema: z.enum(['true', 'false']).default('false'),
  },
  KEYGATE_ROLE_SCOPES: {
    doc: 'JSON object: role → scope patterns (`*`, `*:read`, exact, `!exclude`). Replaces the default mapping for the roles it names.',
    default: '(see Identity model)',
    schema: optionalText,
  },
  KEYGATE_MAX_KEYS_PER_USER: {
    doc: 'User keys one person may hold at once (1–10000); every key that exists counts, disabled or expired too, until it is deleted.',
    default: '20',
    schema: integer(1, 10_000, 20),
  },
  KEYGATE_SESSION_IDLE_SECONDS: {
    doc: 'A console session ends after this many seconds without a request (1–86400).',
    default: '1800',
    schema: integer(1, 86_400, 1800),
  },
  KEYGATE_SESSION_MAX_SECONDS: {
    doc: 'A console session ends this many seconds after sign-in, however active (1–604800).',
    default: '43200',
    schema: integer(1, 604_800, 43_200),
  },
  KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT: {
    doc: 'Failed console sign-ins naming one email from one source (an IPv4 address, or an IPv6 /64) per window before that email gets 429 from that source, even with the right password.',
    default: '5',
    schema: integer(1, 1_000_000, 5),
  },
  KEYGATE_SIGN_IN_FAILURES_PER_IP: {
    doc: 'Failed console sign-ins from one source, whatever emails they name, per window before every sign-in from it gets 429.',
    default: '50',
    schema: integer(1, 1_000_000, 50),
  },
  KEYGATE_SIGN_IN_FAILURE_WINDOW_SECONDS: { doc: 'Length of the failed sign-in window, in seconds.', default: '900', schema: integer(1, 86_400, 900) },
  KEYGATE_ADMIN_EMAIL: {
    doc: 'Email of the first admin user, created with the first tenant (`keygate bootstrap --admin-email` overrides it).',
    default: 'admin@keygate.localhost',
    schema: z.email().max(320).default('admin@keygate.localhost'),
  },
  KEYGATE_TLS_PORT: {
    doc: 'A second listener, HTTPS, that asks every client for a certificate (RFC 8705 client authentication and certificate-bound tokens). Needs `KEYGATE_TLS_CERT_FILE` and `KEYGATE_TLS_KEY_FILE`. Unset: no TLS listener.',
    default: '(none)',
    schema: z
      .string()
      .trim()
      .regex(/^\d+$/, 'must be a whole number')
      .optional()
      .transform((v) => (v === undefined ? undefined : Number(v)))
      .pipe(z.number().int().min(0).max(65535).optional()),
  },
  KEYGATE_TLS_CERT_FILE: { doc: "PEM file with the TLS listener's certificate (and chain).", default: '(none)', schema: optionalText },
  KEYGATE_TLS_KEY_FILE: { doc: "PEM file with the TLS listener's private key.", default: '(none)', schema: optionalText },
  KEYGATE_TLS_CLIENT_CA_FILE: {
    doc: 'PEM bundle of the CAs whose client certificates `tls_client_auth` keys may present (subject DN or DNS SAN matched). Unset: only `self_signed_tls_client_auth` keys can use certificates.',
    default: '(none)',
    schema: optionalText,
  },
  KEYGATE_CLIENT_CERT_HEADER: {
    doc: 'Header in which a trusted proxy (`KEYGATE_TRUSTED_PROXIES`) forwards the client certificate it received, URL-encoded PEM (nginx `$ssl_client_escaped_cert`). From any other peer the header is ignored. Setting it (or `KEYGATE_TLS_PORT`) enables certificate authentication.',
    default: '(none)',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9-]{1,64}$/, 'must be a header name')
      .optional(),
  },
  LOG_LEVEL: {
    doc: 'pino log level. Logs are JSON lines; secrets, tokens and `Authorization` headers are redacted.',
    default: 'info',
    schema: z.enum(LOG_LEVELS).default('info'),
  },
  KEYGATE_DELIVER_EVENTS: {
    doc: '`false` keeps this replica from delivering events (webhooks, the audit stream, scheduled events); at least one replica must deliver them.',
    default: 'true',
    schema: z.enum(['true', 'false']).default('true'),
  },
  KEYGATE_EVENTS_POLL_MS: {
    doc: 'How often each replica looks for events to fan out, deliveries to send and audit records to stream, in milliseconds.',
    default: '1000',
    schema: integer(20, 60_000, 1000),
  },
  KEYGATE_SCHEDULED_EVENTS_INTERVAL_MS: {
    doc: 'How often each replica looks for scheduled events that fell due (expiry reminders, expiries, grace endings), in milliseconds: they fire up to this late.',
    default: '30000',
    schema: integer(20, 3_600_000, 30_000),
  },
  KEYGATE_EVENTS_LEASE_SECONDS: {
    doc: 'How long a replica holds a delivery it took; if it dies, another replica takes the delivery over after this. Longer than `KEYGATE_WEBHOOK_TIMEOUT_MS`.',
    default: '60',
    schema: integer(1, 3600, 60),
  },
  KEYGATE_WEBHOOK_TIMEOUT_MS: {
    doc: 'Time a webhook receiver has to connect and answer, in milliseconds.',
    default: '5000',
    schema: integer(100, 30_000, 5000),
  },
  KEYGATE_WEBHOOK_RETRY_BASE_MS: {
    doc: 'First retry delay of a failed webhook delivery, in milliseconds; each retry doubles it (up to `KEYGATE_WEBHOOK_RETRY_MAX_MS`), with random jitter.',
    default: '5000',
    schema: integer(1, 3_600_000, 5000),
  },
  KEYGATE_WEBHOOK_RETRY_MAX_MS: {
    doc: 'Longest delay between two webhook attempts, in milliseconds.',
    default: '3600000',
    schema: integer(1, 86_400_000, 3_600_000),
  },
  KEYGATE_WEBHOOK_RETRY_WINDOW_SECONDS: {
    doc: 'How long a webhook delivery is retried before it is marked failed, in seconds.',
    default: '86400',
    schema: integer(1, 604_800, 86_400),
  },
  KEYGATE_WEBHOOK_DISABLE_AFTER_FAILURES: {
    doc: 'Failed attempts in a row (no success between) after which an endpoint is disabled, once it has also been failing for `KEYGATE_WEBHOOK_DISABLE_AFTER_SECONDS`.',
    default: '50',
    schema: integer(1, 1_000_000, 50),
  },
  KEYGATE_WEBHOOK_DISABLE_AFTER_SECONDS: {
    doc: 'How long an endpoint must have been failing without a success before it is disabled, in seconds.',
    default: '86400',
    schema: integer(0, 2_592_000, 86_400),
  },
  KEYGATE_WEBHOOK_ALLOWED_NETWORKS: {
    doc: 'Comma-separated addresses or CIDRs webhooks may reach although they are private, loopback or link-local (refused otherwise).',
    default: '(none)',
    schema: optionalText,
  },
  KEYGATE_WEBHOOK_LOG_RETENTION_DAYS: {
    doc: 'How long delivered and failed webhook deliveries (the delivery log) are kept, in days.',
    default: '30',
    schema: integer(1, 3650, 30),
  },
  KEYGATE_GRACE_ENDING_NOTICE_SECONDS: {
    doc: 'How long before a rotated-out secret stops working `key.rotation_grace_ending` fires, in seconds.',
    default: '3600',
    schema: integer(1, 604_800, 3600),
  },
  KEYGATE_DENIAL_SUMMARY_SECONDS: {
    doc: 'Window of the `key.denials` summaries: each replica counts denials per key and sends one summary per key and window.',
    default: '300',
    schema: integer(1, 86_400, 300),
  },
  KEYGATE_AUDIT_SINK_HTTP_URL: {
    doc: 'Stream every audit record to this URL: POSTed batches of JSON Lines (`application/x-ndjson`), at least once.',
    default: '(none)',
    schema: z.url({ protocol: /^https?$/ }).optional(),
  },
  KEYGATE_AUDIT_SINK_SYSLOG: {
    doc: 'Stream every audit record to a syslog server as RFC 5424 messages over TCP (octet-counted): `tcp://host:port`, or `tls://host:port` for TLS.',
    default: '(none)',
    schema: z.url({ protocol: /^(tcp|tls)$/ }).optional(),
  },
  KEYGATE_AUDIT_SINK_CA_FILE: {
    doc: 'PEM file of the certificate authorities the audit sinks’ TLS certificates are checked against (`https://` and `tls://`), instead of the system’s.',
    default: '(system CAs)',
    schema: optionalText,
  },
} as const;

export interface Config {
  /** TCP port, default 3000. */
  port: number;
  host: string;
  /** Postgres URL; undefined = embedded Postgres in `dataDir`. */
  databaseUrl: string | undefined;
  /** Redis URL; undefined = in-memory token store (single process). */
  redisUrl: string | undefined;
  issuer: string;
  dataDir: string;
  trustedProxies: readonly Network[];
  /** Undefined only in embedded mode, where a local pepper file is created on first start. */
  pepperRing: PepperRing | undefined;
  /** Default token lifetime for new keys, seconds; default 3600. */
  tokenTtlSeconds: number;
  migrateOnStart: boolean;
  /** Failed-authentication limits (oauth/abuse-limits.ts). */
  authFailures: { perClientAndSource: number; perSource: number; windowSeconds: number };
  /** Role → scope patterns (identity/roles.ts). */
  roleScopes: RoleScopes;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Console sessions (identity/sessions.ts). */
  sessions: { idleSeconds: number; maxSeconds: number };
  /** User keys one person may hold at once (keys/service.ts). */
  maxKeysPerUser: number;
  /** Failed console sign-in limits, per (email, source) and per source. */
  signInFailures: { perAccountAndSource: number; perSource: number; windowSeconds: number };
  /** The first admin user's email (keys/bootstrap.ts). */
  adminEmail: string;
  /** Keygate's own TLS listener that asks for client certificates; undefined = none. */
  tls: { port: number; certFile: string; keyFile: string } | undefined;
  /** Where client certificates come from and which CAs issue them; undefined = certificate authentication is off. */
  clientCertificates: { header: string | undefined; trustedCaPem: string | undefined } | undefined;
  /** Event delivery: webhooks, scheduled events, denial summaries (src/events/). */
  events: EventsConfig;
  /** Where the audit log is streamed (none by default). */
  auditSinks: { http?: string; syslog?: string; caFile?: string };
}

export interface EventsConfig {
  /** Whether this replica runs the event workers (`keygate serve` only). */
  deliver: boolean;
  pollMs: number;
  scheduleIntervalMs: number;
  leaseSeconds: number;
  webhookTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retryWindowSeconds: number;
  disableAfterFailures: number;
  disableAfterSeconds: number;
  /** Private, loopback or link-local networks webhooks may still reach. */
  allowedNetworks: readonly Network[];
  graceEndingNoticeSeconds: number;
  denialSummarySeconds: number;
  /** Days a finished delivery stays in the log. */
  logRetentionDays: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const read = <K extends keyof typeof ENVIRONMENT>(name: K): z.output<(typeof ENVIRONMENT)[K]['schema']> => {
    const raw = env[name] === '' ? undefined : env[name];
    const parsed = ENVIRONMENT[name].schema.safeParse(raw);
    if (!parsed.success) {
      throw new ConfigError(`${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    return parsed.data as z.output<(typeof ENVIRONMENT)[K]['schema']>;
  };
  const port = read('PORT');
  const databaseUrl = read('DATABASE_URL');
  const pepperText = read('KEYGATE_SECRET_PEPPER');
  if (databaseUrl && !pepperText) {
    throw new ConfigError('KEYGATE_SECRET_PEPPER: required when DATABASE_URL is set (every replica must share it)');
  }
  return Object.freeze({
    port,
    host: read('HOST'),
    databaseUrl,
    redisUrl: read('REDIS_URL'),
    issuer: (read('KEYGATE_ISSUER') ?? `http://localhost:${port}`).replace(/\/$/, ''),
    dataDir: read('KEYGATE_DATA_DIR'),
    trustedProxies: Object.freeze(parseListOrThrow('KEYGATE_TRUSTED_PROXIES', read('KEYGATE_TRUSTED_PROXIES'))),
    pepperRing: pepperText === undefined ? undefined : parsePepperRing(pepperText),
    tokenTtlSeconds: read('KEYGATE_TOKEN_TTL_SECONDS'),
    migrateOnStart: read('KEYGATE_MIGRATE_ON_START') === 'true' || databaseUrl === undefined,
    roleScopes: parseRoleScopes(read('KEYGATE_ROLE_SCOPES')),
    authFailures: Object.freeze({
      perClientAndSource: read('KEYGATE_AUTH_FAILURES_PER_CLIENT'),
      perSource: read('KEYGATE_AUTH_FAILURES_PER_IP'),
      windowSeconds: read('KEYGATE_AUTH_FAILURE_WINDOW_SECONDS'),
    }),
    logLevel: read('LOG_LEVEL'),
    sessions: Object.freeze({ idleSeconds: read('KEYGATE_SESSION_IDLE_SECONDS'), maxSeconds: read('KEYGATE_SESSION_MAX_SECONDS') }),
    maxKeysPerUser: read('KEYGATE_MAX_KEYS_PER_USER'),
    signInFailures: Object.freeze({
      perAccountAndSource: read('KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT'),
      perSource: read('KEYGATE_SIGN_IN_FAILURES_PER_IP'),
      windowSeconds: read('KEYGATE_SIGN_IN_FAILURE_WINDOW_SECONDS'),
    }),
    adminEmail: read('KEYGATE_ADMIN_EMAIL'),
    ...tlsSettings(
      read('KEYGATE_TLS_PORT'),
      read('KEYGATE_TLS_CERT_FILE'),
      read('KEYGATE_TLS_KEY_FILE'),
      read('KEYGATE_TLS_CLIENT_CA_FILE'),
      read('KEYGATE_CLIENT_CERT_HEADER'),
    ),
    events: Object.freeze({
      deliver: read('KEYGATE_DELIVER_EVENTS') === 'true',
      pollMs: read('KEYGATE_EVENTS_POLL_MS'),
      scheduleIntervalMs: read('KEYGATE_SCHEDULED_EVENTS_INTERVAL_MS'),
      leaseSeconds: read('KEYGATE_EVENTS_LEASE_SECONDS'),
      webhookTimeoutMs: read('KEYGATE_WEBHOOK_TIMEOUT_MS'),
      retryBaseMs: read('KEYGATE_WEBHOOK_RETRY_BASE_MS'),
      retryMaxMs: read('KEYGATE_WEBHOOK_RETRY_MAX_MS'),
      retryWindowSeconds: read('KEYGATE_WEBHOOK_RETRY_WINDOW_SECONDS'),
      disableAfterFailures: read('KEYGATE_WEBHOOK_DISABLE_AFTER_FAILURES'),
      disableAfterSeconds: read('KEYGATE_WEBHOOK_DISABLE_AFTER_SECONDS'),
      allowedNetworks: Object.freeze(parseListOrThrow('KEYGATE_WEBHOOK_ALLOWED_NETWORKS', read('KEYGATE_WEBHOOK_ALLOWED_NETWORKS'))),
      graceEndingNoticeSeconds: read('KEYGATE_GRACE_ENDING_NOTICE_SECONDS'),
      denialSummarySeconds: read('KEYGATE_DENIAL_SUMMARY_SECONDS'),
      logRetentionDays: read('KEYGATE_WEBHOOK_LOG_RETENTION_DAYS'),
    }),
    auditSinks: Object.freeze({
      http: read('KEYGATE_AUDIT_SINK_HTTP_URL'),
      syslog: read('KEYGATE_AUDIT_SINK_SYSLOG'),
      caFile: read('KEYGATE_AUDIT_SINK_CA_FILE'),
    }),
  });
}

function tlsSettings(
  port: number | undefined,
  certFile: string | undefined,
  keyFile: string | undefined,
  caFile: string | undefined,
  header: string | undefined,
) {
  if (port !== undefined && (!certFile || !keyFile)) {
    throw new ConfigError('KEYGATE_TLS_PORT: needs KEYGATE_TLS_CERT_FILE and KEYGATE_TLS_KEY_FILE');
  }
  let trustedCaPem: string | undefined;
  if (caFile) {
    try {
      trustedCaPem = readFileSync(caFile, 'utf8');
    } catch {
      throw new ConfigError(`KEYGATE_TLS_CLIENT_CA_FILE: cannot read '${caFile}'`);
    }
    if (!trustedCaPem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('KEYGATE_TLS_CLIENT_CA_FILE: holds no PEM certificate');
  }
  const tls = port === undefined ? undefined : Object.freeze({ port, certFile: certFile!, keyFile: keyFile! });
  const enabled = tls !== undefined || header !== undefined;
  return { tls, clientCertificates: enabled ? Object.freeze({ header, trustedCaPem }) : undefined };
}

function parseListOrThrow(name: string, text: string | undefined): Network[] {
  const parsed = parseNetworkList(text ? text.split(',') : []);
  if (!parsed.ok) throw new ConfigError(`${name}: '${parsed.invalid}' is not an IP address or CIDR`);
  return parsed.networks;
}

function parseRoleScopes(text: string | undefined): RoleScopes {
  if (text === undefined) return DEFAULT_ROLE_SCOPES;
  const shape = z.partialRecord(z.enum(ROLES), z.array(z.string().min(1).max(128)));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('KEYGATE_ROLE_SCOPES: must be a JSON object');
  }
  const result = shape.safeParse(parsed);
  if (!result.success) throw new ConfigError(`KEYGATE_ROLE_SCOPES: ${result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return Object.freeze({ ...DEFAULT_ROLE_SCOPES, ...result.data });
}

/** `2:<secret>,1:<secret>` → ring with version 2 current; a bare value is version 1. */
export function parsePepperRing(text: string): PepperRing {
  const peppers: Pepper[] = text.split(',').map((entry) => {
    const match = /^(\d+):(.+)$/s.exec(entry.trim());
    const version = match ? Number(match[1]) : 1;
    const secret = match ? match[2]! : entry.trim();
    if (version < 1 || secret.length < 32) {
      throw new ConfigError('KEYGATE_SECRET_PEPPER: each pepper needs a version ≥ 1 and at least 32 characters');
    }
    return { version, secret: Buffer.from(secret, 'utf8') };
  });
  if (new Set(peppers.map((p) => p.version)).size !== peppers.length) {
    throw new ConfigError('KEYGATE_SECRET_PEPPER: pepper versions must be unique');
  }
  return createPepperRing(peppers);
}
