import { describe, it, expect } from 'vitest';
import { ConfigError, loadConfig, parsePepperRing } from '../../src/config.ts';

const PEPPER_A = 'a'.repeat(32);
const PEPPER_B = 'b'.repeat(40);
const DATABASE_URL = 'postgres://keygate@db.example:5432/keygate';

/** The error loadConfig throws for `env`; fails the test when it does not throw. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  it('listens on 0.0.0.0:3000', () => {
    expect(config.port).toBe(3000);
    expect(config.host).toBe('0.0.0.0');
  });

  it('uses http://localhost:3000 as issuer', () => {
    expect(config.issuer).toBe('http://localhost:3000');
  });

  it('issues tokens for 3600 seconds', () => {
    expect(config.tokenTtlSeconds).toBe(3600);
  });

  it('trusts no proxy', () => {
    expect(config.trustedProxies).toEqual([]);
  });

  it('runs embedded: no database or redis URL, migrations on start, no pepper ring', () => {
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.migrateOnStart).toBe(true);
    expect(config.pepperRing).toBeUndefined();
  });

  it('logs at info into ./.data', () => {
    expect(config.logLevel).toBe('info');
    expect(config.dataDir).toBe('./.data');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '' }).port).toBe(3000);
  });
});

describe('loadConfig values', () => {
  it('derives the default issuer from the port', () => {
    expect(loadConfig({ PORT: '8080' }).issuer).toBe('http://localhost:8080');
  });

  it('removes a trailing slash from KEYGATE_ISSUER', () => {
    expect(loadConfig({ KEYGATE_ISSUER: 'https://auth.example.com/' }).issuer).toBe('https://auth.example.com');
  });

  it('parses KEYGATE_TRUSTED_PROXIES into canonical networks', () => {
    const config = loadConfig({ KEYGATE_TRUSTED_PROXIES: '10.0.0.5/8, 2001:db8::1' });
    expect(config.trustedProxies.map((n) => n.text)).toEqual(['10.0.0.0/8', '2001:db8::1/128']);
  });

  it('does not migrate on start with DATABASE_URL unless asked', () => {
    expect(loadConfig({ DATABASE_URL, KEYGATE_SECRET_PEPPER: PEPPER_A }).migrateOnStart).toBe(false);
    expect(loadConfig({ DATABASE_URL, KEYGATE_SECRET_PEPPER: PEPPER_A, KEYGATE_MIGRATE_ON_START: 'true' }).migrateOnStart).toBe(true);
  });

  it('returns a frozen config with a frozen proxy list', () => {
    const config = loadConfig({ KEYGATE_TRUSTED_PROXIES: '10.0.0.0/8' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.trustedProxies)).toBe(true);
  });
});

describe('loadConfig errors', () => {
  it('names PORT for a non-numeric port', () => {
    expect(configError({ PORT: 'abc' }).message).toMatch(/^PORT: /);
  });

  it('names PORT for a port above 65535', () => {
    expect(configError({ PORT: '70000' }).message).toMatch(/^PORT: /);
  });

  it('names KEYGATE_TOKEN_TTL_SECONDS for a lifetime below 60 seconds', () => {
    expect(configError({ KEYGATE_TOKEN_TTL_SECONDS: '10' }).message).toMatch(/^KEYGATE_TOKEN_TTL_SECONDS: /);
  });

  it('names KEYGATE_TRUSTED_PROXIES and the bad item', () => {
    expect(configError({ KEYGATE_TRUSTED_PROXIES: '10.0.0.1,not-an-ip' }).message).toBe("KEYGATE_TRUSTED_PROXIES: 'not-an-ip' is not an IP address or CIDR");
  });

  it('names LOG_LEVEL for an unknown level', () => {
    expect(configError({ LOG_LEVEL: 'loud' }).message).toMatch(/^LOG_LEVEL: /);
  });

  it('names REDIS_URL for a non-redis URL', () => {
    expect(configError({ REDIS_URL: 'http://x' }).message).toMatch(/^REDIS_URL: /);
  });

  it('names DATABASE_URL for a non-postgres URL', () => {
    expect(configError({ DATABASE_URL: 'mysql://db/keygate', KEYGATE_SECRET_PEPPER: PEPPER_A }).message).toMatch(/^DATABASE_URL: /);
  });

  it('requires KEYGATE_SECRET_PEPPER with DATABASE_URL', () => {
    expect(configError({ DATABASE_URL }).message).toMatch(/^KEYGATE_SECRET_PEPPER: /);
  });

  it('names KEYGATE_SECRET_PEPPER for a short pepper', () => {
    expect(configError({ KEYGATE_SECRET_PEPPER: 'short' }).message).toMatch(/^KEYGATE_SECRET_PEPPER: /);
  });
});

describe('parsePepperRing', () => {
  it('makes the first of several peppers current and keeps all by version', () => {
    const ring = parsePepperRing(`2:${PEPPER_B},1:${PEPPER_A}`);
    expect(ring.current.version).toBe(2);
    expect(ring.current.key.export().toString('utf8')).toBe(PEPPER_B);
    expect([...ring.byVersion.keys()]).toEqual([2, 1]);
    expect(ring.byVersion.get(1)?.key.export().toString('utf8')).toBe(PEPPER_A);
  });

  it('reads a bare value as version 1', () => {
    const ring = parsePepperRing(PEPPER_A);
    expect(ring.current.version).toBe(1);
    expect(ring.current.key.export().toString('utf8')).toBe(PEPPER_A);
  });

  it('is what loadConfig returns for KEYGATE_SECRET_PEPPER', () => {
    const config = loadConfig({ DATABASE_URL, KEYGATE_SECRET_PEPPER: `2:${PEPPER_B}, 1:${PEPPER_A}` });
    expect(config.pepperRing?.current.version).toBe(2);
    expect(config.pepperRing?.byVersion.size).toBe(2);
  });

  it('rejects a pepper shorter than 32 characters', () => {
    expect(() => parsePepperRing(`2:${'c'.repeat(31)},1:${PEPPER_A}`)).toThrow(ConfigError);
  });

  it('rejects version 0', () => {
    expect(() => parsePepperRing(`0:${PEPPER_A}`)).toThrow(ConfigError);
  });

  it('rejects duplicate versions', () => {
    expect(() => parsePepperRing(`1:${PEPPER_B},1:${PEPPER_A}`)).toThrow('KEYGATE_SECRET_PEPPER: pepper versions must be unique');
  });
});
