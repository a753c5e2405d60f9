import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_SCOPES, mayCreateKeys, roleAllows, userKeyScopes } from '../../src/identity/roles.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('default role mapping', () => {
  it.each([
    ['admin', 'admin:tenants:write', true],
    ['admin', 'devices:write', true],
    ['manager', 'admin:keys:write', true],
    ['manager', 'admin:users:write', false],
    ['member', 'devices:write', true],
    ['member', 'admin:keys:read', false],
    ['viewer', 'devices:read', true],
    ['viewer', 'devices:write', false],
    ['viewer', 'admin:audit:read', true],
  ] as const)('%s → %s: %s', (role, scope, allowed) => {
    expect(roleAllows(DEFAULT_ROLE_SCOPES, role, scope)).toBe(allowed);
  });

  it('only managers and admins may create keys', () => {
    expect([mayCreateKeys('admin'), mayCreateKeys('manager'), mayCreateKeys('member'), mayCreateKeys('viewer')]).toEqual([true, true, false, false]);
  });
});

describe('userKeyScopes', () => {
  it('is key scopes ∩ role scopes', () => {
    expect(userKeyScopes(DEFAULT_ROLE_SCOPES, 'viewer', ['devices:read', 'devices:write', 'reports:read'])).toEqual(['devices:read', 'reports:read']);
  });
  it('never includes user or tenant management, even for an admin', () => {
    expect(userKeyScopes(DEFAULT_ROLE_SCOPES, 'admin', ['admin:users:write', 'admin:tenants:write', 'admin:keys:write'])).toEqual(['admin:keys:write']);
  });
  it('treats a granted X:write as granting X:read', () => {
    const roles = { ...DEFAULT_ROLE_SCOPES, member: ['devices:write'] };
    expect(userKeyScopes(roles, 'member', ['devices:read', 'devices:write', 'sensors:read'])).toEqual(['devices:read', 'devices:write']);
  });
});

describe('KEYGATE_ROLE_SCOPES', () => {
  it('replaces the mapping of the roles it names', () => {
    const config = loadConfig({ KEYGATE_ROLE_SCOPES: '{"viewer":["devices:read"]}' });
    expect(config.roleScopes.viewer).toEqual(['devices:read']);
    expect(config.roleScopes.admin).toEqual(['*']);
  });
  it('refuses anything but a role → list of patterns', () => {
    expect(() => loadConfig({ KEYGATE_ROLE_SCOPES: '{"boss":["*"]}' })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYGATE_ROLE_SCOPES: 'admin=*' })).toThrow('KEYGATE_ROLE_SCOPES: must be a JSON object');
  });
});
