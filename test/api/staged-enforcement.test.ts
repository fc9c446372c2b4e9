/**
 * Staged enforcement (PRODUCT.md §2.10, §3 /account/policy), on SQLite and PostgreSQL: the
 * enforceFrom/enforceFor fields and every bad input; the grace period and the date (moved
 * clock) for a held session and a new login; enforceFor=admins; the "Without 2FA" users filter
 * and its CSV; the e-mails when saved, 7 days and 1 day before, each once across two instances.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { DAY_MS, formatDay } from '../../src/enforcement/staged-enforcement.ts';
import { sendDueStagedNotices } from '../../src/enforcement/staged-notices.ts';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import type { APIClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, passwordStep } from '../helpers/two-factor.ts';

/** `YYYY-MM-DD` of the day `days` after today (UTC) on the server's clock. */
function dayAhead(server: TestServer, days: number): string {
  return formatDay(Math.floor(server.clock.now() / DAY_MS) * DAY_MS + days * DAY_MS);
}

function startOf(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** An admin with the authenticator app (needed to turn enforcement on), and the switch on. */
async function adminEnforcing(server: TestServer, api: APIClient, staged: { enforceFrom?: string | null; enforceFor?: string } = {}) {
  const admin = await signUp(api);
  const app = await enrollAuthenticatorApp(server, api, admin.token);
  if (Object.keys(staged).length > 0) {
    const saved = await api.patch('/account/policy', staged, { token: app.token });
    assert.equal(saved.status, 200, saved.text);
  }
  const on = await api.patch('/account', { enforce2fa: true }, { token: app.token });
  assert.equal(on.status, 200, on.text);
  return { ...admin, token: app.token, secret: app.secret };
}

/** A fresh full login of the admin (after the clock moved past their session's lifetime). */
async function adminLogin(server: TestServer, api: APIClient, email: string, secret: string): Promise<string> {
  const half = await passwordStep(api, email);
  const verified = await api.post('/login/verify', { method: 'totp', code: currentCode(server, secret) }, { token: half });
  assert.equal(verified.status, 200, verified.text);
  return verified.body.token;
}

async function queuedNotices(server: TestServer, accountId: string): Promise<Map<string, number>> {
  const rows = await server.deps.db
    .selectFrom('delivery_queue')
    .innerJoin('users', 'users.id', 'delivery_queue.user_id')
    .where('delivery_queue.kind', '=', 'staged_enforcement')
    .where('users.account_id', '=', accountId)
    .select(['users.id'])
    .execute();
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.id, (counts.get(row.id) ?? 0) + 1);
  return counts;
}

async function policyEvents(server: TestServer, accountId: string): Promise<number> {
  const rows = await server.deps.db.selectFrom('security_events').select('id').where('type', '=', 'policy_changed').where('account_id', '=', accountId).execute();
  return rows.length;
}

forEachDatabase('staged enforcement: the policy fields', (context) => {
  it('answers enforceFrom null and enforceFor everyone by default, and saves a date and a scope (policy_changed)', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const policy = await api.get('/account/policy', { token: admin.token });
    assert.equal(policy.body.enforceFrom, null);
    assert.equal(policy.body.enforceFor, 'everyone');
    const day = dayAhead(server, 30);
    const saved = await api.patch('/account/policy', { enforceFrom: day, enforceFor: 'admins' }, { token: admin.token });
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.body.enforceFrom, day);
    assert.equal(saved.body.enforceFor, 'admins');
    assert.deepEqual(saved.body.allowedMethods, ['totp', 'sms', 'webauthn'], 'the methods stay');
    assert.equal((await api.get('/account/policy', { token: admin.token })).body.enforceFrom, day);
    assert.equal(await policyEvents(server, admin.accountId), 1);
    const back = await api.patch('/account/policy', { enforceFrom: null, enforceFor: 'everyone' }, { token: admin.token });
    assert.equal(back.body.enforceFrom, null);
    assert.equal(back.body.enforceFor, 'everyone');
  });

  it('refuses a past, malformed or too distant date and a wrong scope with 400, changing nothing', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const day = dayAhead(server, 10);
    assert.equal((await api.patch('/account/policy', { enforceFrom: day }, { token: admin.token })).status, 200);
    const events = await policyEvents(server, admin.accountId);
    const cases: Array<[unknown, string | null]> = [
      [{ enforceFrom: dayAhead(server, -1) }, 'a day after today'],
      [{ enforceFrom: dayAhead(server, 0) }, 'a day after today'],
      [{ enforceFrom: dayAhead(server, 366) }, 'at most 365 days ahead'],
      [{ enforceFrom: '2027-02-30' }, 'YYYY-MM-DD'],
      [{ enforceFrom: '2027-1-05' }, 'YYYY-MM-DD'],
      [{ enforceFrom: 'tomorrow' }, 'YYYY-MM-DD'],
      [{ enforceFrom: `${day}T00:00:00Z` }, 'YYYY-MM-DD'],
      [{ enforceFrom: 20270105 }, null],
      [{ enforceFor: 'all' }, null],
      [{ enforceFor: 'admins', enforceFrom: 'soon' }, 'YYYY-MM-DD'],
      [{ allowedMethods: ['totp'], enforceFrom: dayAhead(server, -3) }, 'a day after today'],
    ];
    for (const [body, words] of cases) {
      const refused = await api.patch('/account/policy', body, { token: admin.token });
      assert.equal(refused.status, 400, `${JSON.stringify(body)}: ${refused.text}`);
      assert.equal(refused.body.error, 'invalid_request');
      if (words) assert.match(refused.body.message, new RegExp(words), JSON.stringify(body));
    }
    assert.ok((await api.patch('/account/policy', { enforceFrom: dayAhead(server, 365) }, { token: admin.token })).status === 200, 'a year ahead is the limit, included');
    assert.ok((await api.patch('/account/policy', { enforceFrom: day }, { token: admin.token })).status === 200);
    const policy = await api.get('/account/policy', { token: admin.token });
    assert.equal(policy.body.enforceFrom, day);
    assert.equal(policy.body.enforceFor, 'everyone');
    assert.deepEqual(policy.body.allowedMethods, ['totp', 'sms', 'webauthn'], 'the refused change with allowedMethods saved nothing either');
    assert.equal(await policyEvents(server, admin.accountId), events + 2);
  });

  it('refuses a plain user with 403 and a stale login with reauthentication_required', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token);
    const login = await logIn(api, member.email);
    const refused = await api.patch('/account/policy', { enforceFrom: dayAhead(server, 5) }, { token: login.token });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, 'forbidden');
    server.clock.advance(16 * 60_000);
    const stale = await api.patch('/account/policy', { enforceFor: 'admins' }, { token: admin.token });
    assert.equal(stale.body.error, 'reauthentication_required');
    assert.equal((await api.get('/account/policy', { token: admin.token })).body.enforceFor, 'everyone');
  });
});

forEachDatabase('staged enforcement: grace period and the date', (context) => {
  it('lets a user without 2FA in until the date (GET /me says it is due), then sends the held session and a new login to setup', async () => {
    const { api, server } = context();
    const day = dayAhead(server, 2);
    const admin = await adminEnforcing(server, api, { enforceFrom: day });
    const member = await inviteAndAccept(server, api, admin.token);
    // Just before the date: a held session and a new login both get in.
    server.clock.set(startOf(day) - 60_000);
    const held = await logIn(api, member.email);
    assert.equal(held.state, 'authenticated');
    const me = await api.get('/me', { token: held.token });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.twoFactor.requiredFrom, day);
    assert.equal((await api.get('/me', { token: await adminLogin(server, api, admin.email, admin.secret) })).body.twoFactor.requiredFrom, undefined, 'not for a user who has 2FA');
    // The date comes: the held session is sent to setup on its next request, and so is a new login.
    server.clock.set(startOf(day));
    const after = await api.get('/me', { token: held.token });
    assert.equal(after.status, 403);
    assert.equal(after.body.error, 'enrollment_required');
    const fresh = await api.post('/login', { email: member.email, password: 'correct horse battery' });
    assert.equal(fresh.body.state, 'enrollment_required');
    // Moving the date ahead again gives the grace period back.
    const moved = await api.patch('/account/policy', { enforceFrom: dayAhead(server, 3) }, { token: await adminLogin(server, api, admin.email, admin.secret) });
    assert.equal(moved.status, 200, moved.text);
    assert.equal((await api.get('/me', { token: held.token })).status, 200);
  });

  it('with enforceFor=admins applies to administrators only: a plain user is neither reminded nor sent to setup', async () => {
    const { api, server } = context();
    const day = dayAhead(server, 3);
    const admin = await adminEnforcing(server, api, { enforceFrom: day, enforceFor: 'admins' });
    const member = await inviteAndAccept(server, api, admin.token);
    const coAdmin = await inviteAndAccept(server, api, admin.token, 'admin');
    const missing = await api.get('/account/users?twoFactor=missing', { token: admin.token });
    assert.deepEqual(missing.body.users.map((user: { email: string }) => user.email), [coAdmin.email]);
    assert.equal((await api.get('/account/policy', { token: admin.token })).body.usersWithoutTwoFactor, 1);
    server.clock.set(startOf(day) - 60_000);
    const memberLogin = await logIn(api, member.email);
    const coAdminLogin = await logIn(api, coAdmin.email);
    assert.equal((await api.get('/me', { token: memberLogin.token })).body.twoFactor.requiredFrom, undefined);
    assert.equal((await api.get('/me', { token: coAdminLogin.token })).body.twoFactor.requiredFrom, day);
    server.clock.set(startOf(day) + 1000);
    assert.equal((await api.get('/me', { token: memberLogin.token })).status, 200, 'the plain user is not enforced');
    assert.equal((await api.get('/me', { token: coAdminLogin.token })).body.error, 'enrollment_required');
    assert.equal((await logIn(api, member.email)).state, 'authenticated');
    assert.equal((await logIn(api, coAdmin.email)).state, 'enrollment_required');
  });
});

forEachDatabase('staged enforcement: the users it affects', (context) => {
  it('lists the users without 2FA (GET /account/users?twoFactor=missing and the CSV), counts them in the policy, admins only', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const adminApp = await enrollAuthenticatorApp(server, api, admin.token);
    const without = await inviteAndAccept(server, api, adminApp.token);
    const withApp = await inviteAndAccept(server, api, adminApp.token);
    await enrollAuthenticatorApp(server, api, (await logIn(api, withApp.email)).token);
    const listed = await api.get('/account/users?twoFactor=missing', { token: adminApp.token });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.body.users.map((user: { email: string }) => user.email), [without.email]);
    assert.equal((await api.get('/account/policy', { token: adminApp.token })).body.usersWithoutTwoFactor, 1);
    assert.equal((await api.get('/account/users?twoFactor=all', { token: adminApp.token })).status, 400);
    const csv = await fetch(`${server.url}/settings/users.csv?twoFactor=missing`, { headers: { cookie: `twofold_session=${adminApp.token}` } });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    assert.equal(lines[0], 'email,name,role');
    assert.deepEqual(lines.slice(1), [`${without.email},Ivy Invited,user`]);
    const memberLogin = await logIn(api, without.email);
    assert.equal((await api.get('/account/users?twoFactor=missing', { token: memberLogin.token })).status, 403);
    const memberCsv = await fetch(`${server.url}/settings/users.csv?twoFactor=missing`, { headers: { cookie: `twofold_session=${memberLogin.token}` } });
    assert.equal(memberCsv.status, 403);
  });
});

forEachDatabase('staged enforcement: e-mails when saved, 7 days and 1 day before', (context) => {
  it('sends each affected user each notice once, in batches, with concurrent runs on three instances (PostgreSQL)', async () => {
    const { api, server, kind } = context();
    const day = dayAhead(server, 20);
    const admin = await adminEnforcing(server, api);
    // 250 users without 2FA (more than two batches), written directly: invitations would take minutes.
    const now = server.clock.now();
    const extra = Array.from({ length: 250 }, (_, index) => ({ id: randomUUID(), account_id: admin.accountId, email: `bulk-${index}-${randomUUID()}@example.com`, name: `Bulk ${index}`, role: 'user' as const, active: 1, password_hash: null, created_at: now, last_login_at: null }));
    await server.deps.db.insertInto('users').values(extra).execute();
    // Two more instances on the same database (three, each with its own pool). On SQLite they
    // would live in this one process, where better-sqlite3's synchronous busy wait blocks another
    // instance's open transaction (instances are processes in real life): there the concurrent
    // runs share the instance's one connection.
    const others = kind === 'postgres' ? [await startTestServer(kind, { database: server.database }), await startTestServer(kind, { database: server.database })] : [];
    const instances = [server, ...others];
    const setClocks = (at: number) => instances.forEach((instance) => instance.clock.set(at));
    const runEverywhere = () => Promise.all(instances.flatMap((instance) => [sendDueStagedNotices(instance.deps), sendDueStagedNotices(instance.deps)]));
    try {
      setClocks(server.clock.now());
      const saved = await api.patch('/account/policy', { enforceFrom: day }, { token: admin.token });
      assert.equal(saved.status, 200, saved.text);
      // The save starts sending; the job on every instance races it.
      await runEverywhere();
      await waitForCount(server, admin.accountId, 250);
      let counts = await queuedNotices(server, admin.accountId);
      assert.equal(counts.size, 250, 'every affected user, and not the admin who has 2FA');
      assert.ok([...counts.values()].every((count) => count === 1), 'once each');

      // Nothing more until 7 days before.
      await runEverywhere();
      assert.equal(sum(await queuedNotices(server, admin.accountId)), 250);
      for (const [at, expected] of [[startOf(day) - 7 * DAY_MS + 1, 2], [startOf(day) - DAY_MS + 1, 3]] as const) {
        setClocks(at);
        await runEverywhere();
        counts = await queuedNotices(server, admin.accountId);
        assert.ok([...counts.values()].every((count) => count === expected), `each user ${expected} notices`);
        assert.equal(counts.size, 250);
      }
      // The date itself and after: nothing more.
      setClocks(startOf(day) + 1);
      assert.equal(await sendDueStagedNotices(server.deps), 0);
    } finally {
      for (const other of others) await other.close();
    }
  });

  it('re-arms when the date changes: the new date is e-mailed at once, the 7-day reminder skipped when already inside it; users who set up 2FA are not reminded', async () => {
    const { api, server } = context();
    const admin = await adminEnforcing(server, api, { enforceFrom: dayAhead(server, 30) });
    const member = await inviteAndAccept(server, api, admin.token);
    const other = await inviteAndAccept(server, api, admin.token);
    await sendDueStagedNotices(server.deps);
    // Both invited after the save: the first notice reached nobody yet; the job does not re-send stage 1.
    assert.equal(sum(await queuedNotices(server, admin.accountId)), 0);
    const moved = await api.patch('/account/policy', { enforceFrom: dayAhead(server, 3) }, { token: admin.token });
    assert.equal(moved.status, 200);
    await waitForCount(server, admin.accountId, 2);
    await enrollAuthenticatorApp(server, api, (await logIn(api, other.email)).token);
    server.clock.set(startOf(dayAhead(server, 3)) - DAY_MS + 1);
    await sendDueStagedNotices(server.deps);
    const counts = await queuedNotices(server, admin.accountId);
    assert.equal(counts.get(member.userId), 2, 'the change, then the 1-day reminder');
    assert.equal(counts.get(other.userId), 1, 'set up 2FA after the change: no reminder');
  });
});

function sum(counts: Map<string, number>): number {
  return [...counts.values()].reduce((total, count) => total + count, 0);
}

async function waitForCount(server: TestServer, accountId: string, total: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (sum(await queuedNotices(server, accountId)) < total) {
    if (Date.now() > deadline) throw new Error('the notices did not arrive');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await sendDueStagedNotices(server.deps);
}
