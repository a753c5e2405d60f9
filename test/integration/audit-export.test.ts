// GET /admin/v1/audit/export over real HTTP: the list's filters and visibility, as CSV or JSON
// Lines; labels resolved only within what the caller may see; what a change records, field by
// field, before and after; CSV cells that a spreadsheet would run as formulas defused. The attacks
// are the requests: a member exporting everyone's events, a child tenant's admin reaching its
// parent's, a forged tenant filter, a download from another site's page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, ALL_KEYGATE_SCOPES, type AdminClient } from '../support/admin.ts';
import { signedInUser, type ConsoleSession } from '../support/console.ts';
import { parseCsv } from '../support/csv.ts';
import type { HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

type Event = Record<string, any>;

const linesOf = (response: HttpResponse): Event[] =>
  response.text === ''
    ? []
    : response.text
        .slice(0, -1)
        .split('\n')
        .map((line) => JSON.parse(line));

/** CSV records as objects keyed by the header line. */
function csvRecords(response: HttpResponse): Record<string, string>[] {
  const [header, ...rows] = parseCsv(response.text);
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i]!])));
}

describe('admin API: audit export', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let childTenantId: string;
  let admin: AdminClient;
  let childAdmin: AdminClient;
  let member: { user: { id: string }; session: ConsoleSession };

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    childTenantId = (await keygate.runtime.tenants.insert({ name: 'export child', parentId: tenantId })).id;
    admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    childAdmin = await adminClient(keygate, childTenantId);
    member = await signedInUser(keygate, tenantId, 'member');
  });
  afterAll(() => keygate?.close());

  const exportOf = (client: AdminClient | ConsoleSession, query: Record<string, string>) => client.get(`/audit/export?${new URLSearchParams(query)}`);

  it('downloads the filtered events as CSV and JSON Lines, named as attachments, the same events the list shows', async () => {
    const key = await admin.post('/keys', { name: 'exported', scopes: ['devices:read'] });
    const id = key.body.key.client_id;
    expect((await admin.patch(`/keys/${id}`, { name: 'exported, renamed', networks: ['10.0.0.0/8'] })).status).toBe(200);
    expect((await admin.post(`/keys/${id}/disable`)).status).toBe(200);

    const csv = await exportOf(admin, { format: 'csv', target_key_id: id });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="keygate-audit-\d{8}T\d{6}Z\.csv"$/);
    expect(csv.headers['cache-control']).toBe('no-store');
    expect(csv.text.split('\r\n')[0]).toBe(
      'id,at,action,outcome,reason,tenant_id,actor_user_id,actor_user_email,actor_key_id,actor_key_name,target_key_id,target_key_name,target_user_email,ip,request_id,details',
    );
    const records = csvRecords(csv);
    expect(records.map((r) => r.action)).toEqual(['key.disable', 'key.update', 'key.create']);
    expect(records[1]).toMatchObject({ actor_key_id: admin.key.key.client_id, actor_key_name: 'admin automation', target_key_name: 'exported, renamed' });
    expect(JSON.parse(records[1]!.details!).changes).toEqual({
      name: { from: 'exported', to: 'exported, renamed' },
      networks: { from: [], to: ['10.0.0.0/8'] },
    });

    const jsonl = await exportOf(admin, { format: 'jsonl', target_key_id: id });
    expect(jsonl.headers['content-type']).toBe('application/jsonl; charset=utf-8');
    expect(jsonl.headers['content-disposition']).toMatch(/filename="keygate-audit-\d{8}T\d{6}Z\.jsonl"$/);
    const listed = await admin.get(`/audit?target_key_id=${id}&include=labels`);
    expect(linesOf(jsonl)).toEqual(listed.body.data);
    expect(listed.body.data[1]).toMatchObject({ actor_key_name: 'admin automation', target_key_name: 'exported, renamed', actor_user_email: null });
    expect(records.map((r) => r.id)).toEqual(listed.body.data.map((e: Event) => e.id));
  });

  it('defuses cells a spreadsheet would run as formulas, and quotes per RFC 4180', async () => {
    const names = ['=HYPERLINK("http://attacker.test","x")', '+SUM(1,2)', '-2+3', '@cmd', 'plain "quoted", name'];
    const ids: string[] = [];
    for (const name of names) {
      const created = await admin.post('/keys', { name, scopes: ['devices:read'] });
      expect(created.status).toBe(201);
      ids.push(created.body.key.client_id);
    }
    const csv = await exportOf(admin, { format: 'csv', action: 'key.create', actor_key_id: admin.key.key.client_id });
    const byKey = new Map(csvRecords(csv).map((r) => [r.target_key_id, r.target_key_name]));
    expect(ids.map((id) => byKey.get(id))).toEqual([`'${names[0]}`, `'${names[1]}`, `'${names[2]}`, `'${names[3]}`, names[4]]);
    expect(csv.text).toContain('"\'=HYPERLINK(""http://attacker.test"",""x"")"');
  });

  it('records what a user or tenant change did, field by field, and never a secret', async () => {
    const user = await keygate.newUser(tenantId, 'viewer');
    expect((await admin.patch(`/users/${user.id}`, { role: 'manager', name: 'Vera' })).status).toBe(200);
    expect((await admin.patch(`/tenants/${childTenantId}`, { name: 'export child, renamed' })).status).toBe(200);
    const key = await admin.post('/keys', { name: 'to rotate', scopes: ['devices:read'] });
    const rotated = await admin.post(`/keys/${key.body.key.client_id}/rotate`, { grace_seconds: 0 });

    const events = linesOf(await exportOf(admin, { format: 'jsonl', actor_key_id: admin.key.key.client_id }));
    const userUpdate = events.find((e) => e.action === 'user.update' && e.details.user_id === user.id)!;
    expect(userUpdate.details.changes).toEqual({ name: { from: null, to: 'Vera' }, role: { from: 'viewer', to: 'manager' } });
    expect(userUpdate.target_user_email).toBe(user.email);
    const tenantUpdate = events.find((e) => e.action === 'tenant.update' && e.tenant_id === childTenantId)!;
    expect(tenantUpdate.details.changes).toEqual({ name: { from: 'export child', to: 'export child, renamed' } });
    const everything = (await exportOf(admin, { format: 'jsonl' })).text;
    expect(everything).not.toContain(rotated.body.client_secret);
    expect(everything).not.toContain(key.body.client_secret);
  });

  it('a member’s export holds only events about them, and names nothing else', async () => {
    const mine = await member.session.post('/keys', { name: 'member laptop', scopes: ['devices:read'] });
    expect(mine.status).toBe(201);
    const myKey = mine.body.key.client_id;
    expect((await admin.post(`/keys/${myKey}/disable`)).status).toBe(200);
    const other = await keygate.newUser(tenantId, 'member');
    const othersKey = await keygate.createKey(tenantId, { kind: 'user', userId: other.id, name: 'someone else’s' });
    expect((await admin.post(`/keys/${othersKey.key.client_id}/disable`)).status).toBe(200);

    // The attack: the member asks for everything, then for the admin's events, then for another tenant.
    const events = linesOf(await exportOf(member.session, { format: 'jsonl' }));
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) expect(event.actor_user_id === member.user.id || event.target_key_id === myKey).toBe(true);
    const disabledByAdmin = events.find((e) => e.action === 'key.disable')!;
    expect(disabledByAdmin).toMatchObject({ target_key_id: myKey, target_key_name: 'member laptop', actor_key_id: admin.key.key.client_id });
    // The admin's key is not the member's to know by name.
    expect(disabledByAdmin.actor_key_name).toBeNull();
    expect(events.some((e) => e.target_key_id === othersKey.key.client_id)).toBe(false);

    const byAdmin = linesOf(await exportOf(member.session, { format: 'jsonl', actor_key_id: admin.key.key.client_id }));
    expect(byAdmin.map((e) => e.target_key_id)).toEqual([myKey]);
    expect(csvRecords(await exportOf(member.session, { format: 'csv', tenant_id: childTenantId }))).toEqual([]);
    expect(csvRecords(await exportOf(member.session, { format: 'csv', target_key_id: othersKey.key.client_id }))).toEqual([]);
  });

  it('a child tenant’s admin never exports the parent’s events, not even with a forged tenant filter', async () => {
    const parentKey = await admin.post('/keys', { name: 'parent secret project', scopes: ['devices:read'] });
    const inChild = await admin.post('/keys', { name: 'made from above', scopes: ['devices:read'], tenant_id: childTenantId });
    expect(inChild.status).toBe(201);

    const events = linesOf(await exportOf(childAdmin, { format: 'jsonl' }));
    expect(events.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.tenant_id !== childTenantId)).toEqual([]);
    expect(events.some((e) => e.target_key_id === parentKey.body.key.client_id)).toBe(false);
    // The parent's key made a key here: its id is in the event, its name is not the child's to know.
    const fromAbove = events.find((e) => e.target_key_id === inChild.body.key.client_id)!;
    expect(fromAbove).toMatchObject({ actor_key_id: admin.key.key.client_id, actor_key_name: null, target_key_name: 'made from above' });

    for (const forged of [
      { tenant_id: tenantId },
      { target_key_id: parentKey.body.key.client_id as string },
      { actor_key_id: admin.key.key.client_id, tenant_id: tenantId },
    ] as Record<string, string>[]) {
      const csv = await exportOf(childAdmin, { format: 'csv', ...forged });
      expect(csv.status).toBe(200);
      expect(csvRecords(csv)).toEqual([]);
    }
    // The parent narrows to the child with the same filter, and sees the child's events.
    const narrowed = linesOf(await exportOf(admin, { format: 'jsonl', tenant_id: childTenantId }));
    expect(narrowed.length).toBeGreaterThanOrEqual(events.length);
    expect(narrowed.filter((e) => e.tenant_id !== childTenantId)).toEqual([]);
  });

  it('a session downloads with its cookie alone; another site’s page, no credential or a bad query gets a 4xx', async () => {
    const viaCookie = await member.session.send({ method: 'GET', path: '/admin/v1/audit/export?format=csv' });
    expect(viaCookie.status).toBe(200);
    const fromElsewhere = await member.session.send({ method: 'GET', path: '/admin/v1/audit/export?format=csv', origin: 'https://attacker.test' });
    expect(fromElsewhere.status).toBe(403);
    expect(fromElsewhere.text).not.toContain('"id","at"');
    expect((await keygate.send({ method: 'GET', path: '/admin/v1/audit/export?format=csv' })).status).toBe(401);
    const bad = [
      '?format=xlsx',
      '?format=csv&cursor=5',
      '?format=csv&since=yesterday',
      '?format=csv&tenant_id=not-a-uuid',
      `?format=csv&key_id=a&target_key_id=b`,
    ];
    for (const query of bad) {
      const response = await admin.get(`/audit/export${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
    }
    const readOnly = await adminClient(keygate, tenantId, ['admin:keys:read']);
    expect((await readOnly.get('/audit/export?format=csv')).status).toBe(403);
  });

  it('is in the OpenAPI document as a download', async () => {
    const document = (await keygate.send({ method: 'GET', path: '/admin/v1/openapi.json' })).body;
    const operation = document.paths['/audit/export'].get;
    expect(operation['x-required-scope']).toBe('admin:audit:read');
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/csv', 'application/jsonl']);
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['format', 'actor_user_id', 'since', 'until', 'tenant_id']),
    );
  });
});
