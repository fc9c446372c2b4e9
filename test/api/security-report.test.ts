/**
 * "This wasn't me" (PRODUCT.md §2.12, SECURITY.md rules 41, 43): the link at the end of every
 * security notice. GET changes nothing; the POST works once, without a session, and only takes
 * access away.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, logIn, PASSWORD, signUp } from '../helpers/fixtures.ts';
import { FormSession } from '../helpers/browser.ts';
import { sweepExpiredRows } from '../../src/maintenance/sweep.ts';
import { forEachDatabase, type SuiteContext } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, securityEvents } from '../helpers/two-factor.ts';

const REPORT = '/security/report/';

/** An admin, and a user of the same account who just added the authenticator app (whose notice carries a report link). */
async function userWhoAddedAnApp(context: SuiteContext) {
  const { api, server } = context;
  const admin = await signUp(api);
  const user = await inviteAndAccept(server, api, admin.token);
  const login = await logIn(api, user.email);
  const enrolled = await enrollAuthenticatorApp(server, api, login.token);
  const notice = server.outbox.list().find((m) => m.to === user.email && /Authenticator app added/.test(m.subject ?? ''));
  assert.ok(notice, 'the factor-added notice');
  const report = linkFromOutbox(server, user.email, REPORT);
  return { admin, user, token: enrolled.token, report, notice };
}

async function factorRows(context: SuiteContext, userId: string): Promise<number> {
  const db = context.server.deps.db;
  const factors = await db.selectFrom('factors').select('id').where('user_id', '=', userId).execute();
  const codes = await db.selectFrom('recovery_codes').select('id').where('user_id', '=', userId).execute();
  return factors.length + codes.length;
}

forEachDatabase('"This wasn\'t me"', (context) => {
  it('ends every security notice with a single-use report link whose token is kept only as a hash', async () => {
    const { server } = context();
    const { user, report, notice } = await userWhoAddedAnApp(context());
    assert.match(notice!.body, new RegExp(`Was this not you\\?[^]*${server.config.publicURL.origin}${REPORT}${report}\\n`));
    const rows = await server.deps.db.selectFrom('security_reports').selectAll().where('user_id', '=', user.userId).execute();
    assert.ok(rows.length >= 1);
    assert.ok(!JSON.stringify(rows).includes(report), 'only the hash is stored');
    const bound = rows.find((row) => row.factor_kind === 'totp');
    assert.ok(bound?.factor_id, 'the link is bound to the factor the notice announced');
  });

  it('GET shows "Was this not you?" with "Secure my account" and changes nothing (mail scanners open links)', async () => {
    const { api, server } = context();
    const { user, token, report } = await userWhoAddedAnApp(context());
    const before = await factorRows(context(), user.userId);
    for (let opened = 0; opened < 3; opened += 1) {
      const page = await new FormSession(server).get(`${REPORT}${report}`);
      assert.equal(page.status, 200);
      assert.match(page.text, /<h1>Was this not you\?<\/h1>/);
      assert.match(page.text, /<button type="submit" class="danger">Secure my account<\/button>/);
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    }
    assert.equal((await api.get('/me', { token })).status, 200, 'still signed in');
    assert.equal(await factorRows(context(), user.userId), before);
    assert.equal((await securityEvents(server, user.userId, 'suspicious_activity_reported')).length, 0);
    assert.equal((await logIn(api, user.email)).state, 'mfa_required', 'password login still works');
  });

  it('the POST, without a session: signs out every session, removes the factor just added, blocks password login until a reset, e-mails a reset link and the admins, logs it', async () => {
    const { api, server } = context();
    const { admin, user, token, report } = await userWhoAddedAnApp(context());
    const secondAdmin = await inviteAndAccept(server, api, admin.token, 'admin');
    const used = await api.post(`/security/reports/${report}`);
    assert.equal(used.status, 204, used.text);
    assert.equal((await api.get('/me', { token })).status, 401, 'the session is gone');
    assert.equal(await factorRows(context(), user.userId), 0, 'the factor the notice announced is gone, and with the last method its recovery codes');
    // The password step refuses exactly as for a wrong password (rule 31).
    const blocked = await api.post('/login', { email: user.email, password: PASSWORD });
    const wrong = await api.post('/login', { email: user.email, password: 'not the password' });
    assert.equal(blocked.status, 401);
    assert.deepEqual(blocked.body, wrong.body);
    const [event] = await securityEvents(server, user.userId, 'suspicious_activity_reported');
    assert.ok(event);
    assert.deepEqual(JSON.parse(event.detail), { sessionsEnded: 1, factorRemoved: 'totp', passwordLoginBlocked: true });
    for (const to of [admin.email, secondAdmin.email]) assert.ok(server.outbox.list().some((m) => m.to === to && /Suspicious activity reported/.test(m.subject ?? '') && m.body.includes(user.email)), `admin ${to} e-mailed`);
    assert.ok(!server.outbox.list().some((m) => m.to === admin.email && m.body.includes(report)), 'admins never see the link');
    // The reset link e-mailed to the user lifts the block.
    const reset = linkFromOutbox(server, user.email, '/password/reset/');
    assert.equal((await api.post('/password/reset', { token: reset, password: 'a brand new password' })).status, 204);
    const again = await logIn(api, user.email, 'a brand new password');
    assert.equal(again.state, 'authenticated', 'logs in again; the factor added by someone else is gone');
  });

  it('a link works once: the second use, and any other report link of the user, answer 410 link_expired', async () => {
    const { api, server } = context();
    const { user, report } = await userWhoAddedAnApp(context());
    // A second notice (a recovery code is used, say) carries its own link.
    await server.deps.db.transaction().execute(async (trx) => {
      const { queueSecurityNotice } = await import('../../src/notices/security-notice.ts');
      await queueSecurityNotice(server.deps, trx, { to: { userId: user.userId, email: user.email, name: 'Ivy' }, kind: 'test_notice', text: { subject: 'Second notice', text: 'Something happened.\n' } });
    });
    await server.deps.delivery.queue.afterCommit();
    const second = linkFromOutbox(server, user.email, REPORT);
    assert.notEqual(second, report);
    assert.equal((await api.post(`/security/reports/${report}`)).status, 204);
    for (const token of [report, second]) {
      const refused = await api.post(`/security/reports/${token}`);
      assert.equal(refused.status, 410);
      assert.equal(refused.body.error, 'link_expired');
      assert.equal((await new FormSession(server).get(`${REPORT}${token}`)).status, 410);
    }
    assert.equal((await securityEvents(server, user.userId, 'suspicious_activity_reported')).length, 1);
  });

  it('expires after 7 days (moved clock), and unknown or malformed tokens read the same 410', async () => {
    const { api, server } = context();
    const { user, report } = await userWhoAddedAnApp(context());
    server.clock.advance(7 * 24 * 3_600_000 + 1000);
    for (const candidate of [report, 'A'.repeat(43), 'short', report.slice(0, -1) + (report.endsWith('A') ? 'B' : 'A')]) {
      const refused = await api.post(`/security/reports/${candidate}`);
      assert.equal(refused.status, 410, candidate);
      assert.equal(refused.body.error, 'link_expired');
      assert.equal((await new FormSession(server).get(`${REPORT}${candidate}`)).status, 410);
    }
    assert.equal((await securityEvents(server, user.userId, 'suspicious_activity_reported')).length, 0);
    assert.ok((await factorRows(context(), user.userId)) > 0);
    assert.equal((await api.post(`/security/reports/${report}`, { extra: 1 })).status, 400, 'the API route takes no fields');
    // A day past their expiry the periodic sweep deletes them; the answer stays the same.
    server.clock.advance(24 * 3_600_000);
    const swept = await sweepExpiredRows(server.deps.db, server.clock, server.config.policy);
    assert.ok(swept.security_reports > 0);
    assert.equal((await server.deps.db.selectFrom('security_reports').select('token_hash').where('user_id', '=', user.userId).execute()).length, 0);
    assert.equal((await api.post(`/security/reports/${report}`)).status, 410);
  });

  it('acts only on the user the link was sent to: another user of the account keeps sessions, factors and password', async () => {
    const { api, server } = context();
    const { admin, report } = await userWhoAddedAnApp(context());
    const bystander = await inviteAndAccept(server, api, admin.token);
    const bystanderLogin = await logIn(api, bystander.email);
    const enrolled = await enrollAuthenticatorApp(server, api, bystanderLogin.token);
    assert.equal((await api.post(`/security/reports/${report}`)).status, 204);
    assert.equal((await api.get('/me', { token: enrolled.token })).status, 200);
    assert.equal((await api.get('/me', { token: admin.token })).status, 200);
    assert.ok((await factorRows(context(), bystander.userId)) > 0);
    assert.equal((await logIn(api, bystander.email)).state, 'mfa_required');
  });

  it('removes only the very factor the notice announced: an app enrolled again since (a new secret) stays', async () => {
    const { api, server } = context();
    const { user, token, report } = await userWhoAddedAnApp(context());
    await enrollAuthenticatorApp(server, api, token);
    assert.equal((await api.post(`/security/reports/${report}`)).status, 204);
    const factors = await server.deps.db.selectFrom('factors').select('kind').where('user_id', '=', user.userId).execute();
    assert.deepEqual(factors.map((row) => row.kind), ['totp'], 'the newer app stays');
    const [event] = await securityEvents(server, user.userId, 'suspicious_activity_reported');
    assert.equal(JSON.parse(event!.detail).factorRemoved, 'none');
  });

  it('concurrent POSTs of one link: exactly one acts', async () => {
    const { api, server } = context();
    const { admin, user, report } = await userWhoAddedAnApp(context());
    const adminMailsBefore = server.outbox.list().filter((m) => m.to === admin.email).length;
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.post(`/security/reports/${report}`)));
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [204, 410, 410, 410, 410, 410, 410, 410]);
    assert.equal((await securityEvents(server, user.userId, 'suspicious_activity_reported')).length, 1);
    assert.equal(server.outbox.list().filter((m) => m.to === admin.email).length, adminMailsBefore + 1, 'the admin is e-mailed once');
  });

  it('the page form works without a session or JavaScript and answers the done page, then 410', async () => {
    const { api, server } = context();
    const { user, token, report } = await userWhoAddedAnApp(context());
    const browser = new FormSession(server);
    const extra = await browser.post(`${REPORT}${report}`, { unexpected: 'x' });
    assert.equal(extra.status, 400, 'a form with a field it does not have does nothing');
    assert.equal((await api.get('/me', { token })).status, 200);
    const done = await browser.post(`${REPORT}${report}`, {});
    assert.equal(done.status, 200, done.text);
    assert.match(done.text, /Your account is secured/);
    assert.equal((await api.get('/me', { token })).status, 401);
    assert.equal((await securityEvents(server, user.userId, 'suspicious_activity_reported')).length, 1);
    const twice = await new FormSession(server).post(`${REPORT}${report}`, {}, { formPage: '/login' });
    assert.equal(twice.status, 410);
    assert.equal((await new FormSession(server).post(`${REPORT}${report}`, { _csrf: 'forged' })).status, 403, 'a forged CSRF token is refused');
    assert.equal((await new FormSession(server).post(`${REPORT}${'A'.repeat(200)}`, {}, { formPage: '/login' })).status, 410, 'an overlong token is just unknown');
  });
});
