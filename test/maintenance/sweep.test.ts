/**
 * The periodic sweep deletes what has expired — sessions and why they ended, finished logins, links, pending
 * enrollments, texted codes, old rate-limit windows — and nothing that is still live.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sweepExpiredRows } from '../../src/maintenance/sweep.ts';
import { storageAdapter } from '../../src/oidc/storage-adapter.ts';
import { logIn, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, passwordStep } from '../helpers/two-factor.ts';
import { uniqueMobile } from '../helpers/sms.ts';
import { issueChallenge } from '../../src/factors/webauthn/challenges.ts';

const DAY = 24 * 60 * 60 * 1000;

forEachDatabase('sweeping expired rows', (context) => {
  async function count(table: 'sessions' | 'revoked_sessions' | 'links' | 'login_challenges' | 'totp_enrollments' | 'sms_enrollments' | 'sms_codes' | 'webauthn_challenges' | 'rate_limit_counters' | 'oidc_payloads'): Promise<number> {
    const row = await context().server.deps.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
  const sweep = () => sweepExpiredRows(context().server.deps.db, context().server.clock, context().server.config.policy);

  it('deletes every kind of expired row and keeps the live ones working', async () => {
    const { server, api } = context();
    // Rows of every kind, all created now.
    const admin = await signUp(api);
    const withApp = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, withApp.token);
    const halfway = await passwordStep(api, withApp.email);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: '000000' }, { token: halfway })).status, 401); // a login challenge
    assert.equal((await api.post('/me/2fa/totp', undefined, { token: enrolled.token })).status, 201); // a pending app enrollment
    assert.equal((await api.post('/me/2fa/sms', { phone: uniqueMobile() }, { token: admin.token })).status, 202); // a pending number and its code
    assert.equal((await api.post('/password/forgot', { email: admin.email })).status, 202); // a reset link
    await waitFor(async () => (await count('links')) > 0);
    assert.equal((await api.post('/login', { email: admin.email, password: 'not the password' })).status, 401); // a failed-password window
    // An OpenID Connect authorization code as the provider's storage adapter writes it (60 s).
    await new (storageAdapter(server.deps.db))('AuthorizationCode').upsert('code-to-sweep', { grantId: 'g', accountId: admin.userId }, 60);
    await issueChallenge(server.deps.db, server.clock, { userId: admin.userId, purpose: 'registration', subjectId: null }); // a security-key challenge
    const changer = await signUp(api);
    await logIn(api, changer.email);
    assert.equal((await api.post('/me/password', { currentPassword: PASSWORD, newPassword: 'a changed passphrase' }, { token: changer.token })).status, 204); // why the other session ended
    for (const table of ['sessions', 'revoked_sessions', 'links', 'login_challenges', 'totp_enrollments', 'sms_enrollments', 'sms_codes', 'webauthn_challenges', 'rate_limit_counters', 'oidc_payloads'] as const) {
      assert.ok((await count(table)) > 0, `${table} has a row to sweep`);
    }

    // Eight days on (and a minute: the sign-up's 7-day verification link), everything above is past
    // its absolute expiry plus the day kept for history.
    server.clock.advance(8 * DAY + 60_000);
    const live = await logIn(api, admin.email, PASSWORD);
    const report = await sweep();
    // The delivery queue's records are kept for 30 days (its own test below); trusted browsers live
    // up to 90 days (their sweep is tested in test/api/trusted-browsers.test.ts); report links live 7
    // days plus the day of history, exactly the 8 days moved here (test/api/security-report.test.ts sweeps them).
    for (const [table, deleted] of Object.entries(report)) if (!['delivery_queue', 'trusted_browsers', 'security_reports'].includes(table)) assert.ok(deleted > 0, `${table}: swept ${deleted}`);
    assert.equal(await count('sessions'), 1, 'only the session made after the clock moved is left');
    for (const table of ['revoked_sessions', 'links', 'login_challenges', 'totp_enrollments', 'sms_enrollments', 'sms_codes', 'webauthn_challenges', 'oidc_payloads'] as const) assert.equal(await count(table), 0, table);
    assert.equal((await api.get('/me', { token: live.token })).status, 200, 'the live session still works');
    assert.equal((await api.get('/me', { token: admin.token })).status, 401, 'the swept session stays refused');
  });

  it('deletes the record of a sent message after 30 days and never a message still waiting', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    assert.equal((await api.post('/password/forgot', { email: user.email })).status, 202);
    // The reset's e-mail (the sign-up's verification e-mail is another kind).
    const messages = () => server.deps.db.selectFrom('delivery_queue').select(['id', 'status']).where('user_id', '=', user.userId).where('kind', '!=', 'email_verification').execute();
    await waitFor(async () => (await messages()).some((row) => row.status === 'sent'));
    // A message that never left (waiting for a retry) must outlive any sweep.
    await server.deps.db.insertInto('delivery_queue').values({ id: `waiting-${user.userId}`, channel: 'email', kind: 'test', user_id: user.userId, payload_encrypted: 'v1.x.y', status: 'queued', attempts: 3, created_at: server.clock.now(), next_attempt_at: server.clock.now() + 365 * DAY, enqueued_by: null, claim_id: null, lease_until: null, sent_at: null, last_error: 'refused' }).execute();
    server.clock.advance(29 * DAY);
    await sweep();
    assert.equal((await messages()).length, 2, 'kept for 30 days');
    server.clock.advance(2 * DAY);
    await sweep();
    assert.deepEqual((await messages()).map((row) => row.status), ['queued']);
  });

  it('keeps rows for a day past their expiry, so recent history can still be read', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    assert.equal((await api.post('/password/forgot', { email: user.email })).status, 202);
    const resetLinks = async () => (await server.deps.db.selectFrom('links').select('token_hash').where('user_id', '=', user.userId).where('kind', '=', 'password_reset').execute()).length;
    await waitFor(async () => (await resetLinks()) === 1); // forgot-password answers before it writes
    server.clock.advance(DAY + 60 * 60 * 1000); // the 24 h link expired an hour ago
    await sweep();
    assert.equal(await resetLinks(), 1, 'an hour-old expiry is kept');
    server.clock.advance(DAY);
    await sweep();
    assert.equal(await resetLinks(), 0, 'a day and an hour later it is gone');
  });

  it('works through a backlog larger than one batch', async () => {
    const { server } = context();
    const old = server.clock.now() - 2 * DAY;
    const rows = Array.from({ length: 2500 }, (_, i) => ({ key: `backlog:${i}:${Math.random()}`, window_started_at: old, count: 1 }));
    for (let i = 0; i < rows.length; i += 500) await server.deps.db.insertInto('rate_limit_counters').values(rows.slice(i, i + 500)).execute();
    const report = await sweep();
    assert.ok(report.rate_limit_counters >= 2500, String(report.rate_limit_counters));
    const left = await server.deps.db.selectFrom('rate_limit_counters').select('key').where('key', 'like', 'backlog:%').execute();
    assert.equal(left.length, 0);
  });
});
