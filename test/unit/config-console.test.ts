// The console's settings: sessions, failed sign-in limits and the first admin's email.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('console settings', () => {
  it('default to 30 idle minutes, 12 hours in all, 5 failures per (email, source) and 50 per source in 15 minutes', () => {
    const config = loadConfig({});
    expect(config.sessions).toEqual({ idleSeconds: 1800, maxSeconds: 43_200 });
    expect(config.signInFailures).toEqual({ perAccountAndSource: 5, perSource: 50, windowSeconds: 900 });
    expect(config.adminEmail).toBe('admin@keygate.localhost');
  });

  it('read their variables', () => {
    const config = loadConfig({
      KEYGATE_SESSION_IDLE_SECONDS: '60',
      KEYGATE_SESSION_MAX_SECONDS: '3600',
      KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT: '3',
      KEYGATE_SIGN_IN_FAILURES_PER_IP: '30',
      KEYGATE_SIGN_IN_FAILURE_WINDOW_SECONDS: '600',
      KEYGATE_ADMIN_EMAIL: 'ops@example.com',
    });
    expect(config.sessions).toEqual({ idleSeconds: 60, maxSeconds: 3600 });
    expect(config.signInFailures).toEqual({ perAccountAndSource: 3, perSource: 30, windowSeconds: 600 });
    expect(config.adminEmail).toBe('ops@example.com');
  });

  it('name the variable of a bad value', () => {
    expect(configError({ KEYGATE_SESSION_IDLE_SECONDS: '0' }).message).toMatch(/^KEYGATE_SESSION_IDLE_SECONDS: /);
    expect(configError({ KEYGATE_SESSION_MAX_SECONDS: '1h' }).message).toMatch(/^KEYGATE_SESSION_MAX_SECONDS: /);
    expect(configError({ KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT: '-1' }).message).toMatch(/^KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT: /);
    expect(configError({ KEYGATE_ADMIN_EMAIL: 'not an email' }).message).toMatch(/^KEYGATE_ADMIN_EMAIL: /);
  });
});
