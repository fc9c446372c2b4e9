/**
 * The administrator pages over plain HTTP (FormSession), where exact statuses matter: every new
 * form refuses a post without its CSRF token (SECURITY.md rule 26), bad input gets a 4xx page
 * that keeps the visitor on the form — never a 500 — and the "recent authentication" rule
 * (rule 28) is checked on the save itself, with wrong passwords spending the login's budget.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, PASSWORD, signUp } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { logInOverHTTP } from './two-factor-helpers.ts';

const REAUTHENTICATE = `/reauthenticate?next=${encodeURIComponent('/settings/account')}`;

async function roleOf(server: TestServer, userId: string): Promise<{ role: string; active: number }> {
  return server.deps.db.selectFrom('users').select(['role', 'active']).where('id', '=', userId).executeTakeFirstOrThrow();
}

forEachDatabase('administrator pages over HTTP', (context) => {
  it('refuses every new admin form posted without its CSRF token or with a forged one, and changes nothing', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token, 'user');
    const browser = await logInOverHTTP(server, admin.email);
    const forms: Array<[string, Record<string, string>]> = [
      ['/settings/account', { enforce2fa: 'on' }],
      [`/settings/users/${member.userId}/role`, { role: 'admin' }],
      [`/settings/users/${member.userId}/deactivate`, {}],
      [REAUTHENTICATE, { password: PASSWORD }],
    ];
    for (const [path, fields] of forms) {
      for (const token of ['', 'forged-token-that-matches-nothing']) {
        const answer = await browser.post(path, { ...fields, _csrf: token });
        assert.equal(answer.status, 403, `${path} with _csrf=${JSON.stringify(token)}`);
        assert.match(answer.text, /The request did not come from this site/);
      }
    }
    assert.deepEqual(await roleOf(server, member.userId), { role: 'user', active: 1 });
    // With the page's token the same forms work.
    const promoted = await browser.post(`/settings/users/${member.userId}/role`, { role: 'admin' }, { formPage: `/settings/users/${member.userId}` });
    assert.equal(promoted.status, 200, promoted.text);
    assert.equal((await roleOf(server, member.userId)).role, 'admin');
  });

  it('answers bad input on the admin pages with a 4xx page that keeps the form, never a 500', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token, 'user');
    const browser = await logInOverHTTP(server, admin.email);
    const userPage = `/settings/users/${member.userId}`;

    const unknownRole = await browser.post(`${userPage}/role`, { role: 'superuser' }, { formPage: userPage });
    assert.equal(unknownRole.status, 400);
    assert.match(unknownRole.text, /role="alert">Choose a role: Administrator or User\./);
    assert.match(unknownRole.text, /<select id="field-role" name="role">/);
    for (const fields of [{}, { role: 'admin', active: 'no' }] as Array<Record<string, string>>) {
      assert.equal((await browser.post(`${userPage}/role`, fields, { formPage: userPage })).status, 400, JSON.stringify(fields));
    }
    assert.equal((await browser.post(`${userPage}/deactivate`, { confirm: 'yes' }, { formPage: userPage })).status, 400);
    assert.deepEqual(await roleOf(server, member.userId), { role: 'user', active: 1 });

    for (const fields of [{ enforce2fa: 'yes' }, { enforce2fa: 'on', extra: '1' }] as Array<Record<string, string>>) {
      const answer = await browser.post('/settings/account', fields);
      assert.equal(answer.status, 400, JSON.stringify(fields));
      assert.match(answer.text, /name="enforce2fa"/, 'the switch is shown again');
    }
    const noPassword = await browser.post(REAUTHENTICATE, {});
    assert.equal(noPassword.status, 400);
    assert.match(noPassword.text, /role="alert">Enter your password\./);

    for (const query of ['type=bogus', 'cursor=not-a-cursor!', 'cursor=QUJD', 'colour=red', `type=${'x'.repeat(100)}`]) {
      const answer = await browser.get(`/settings/security-log?${query}`);
      assert.equal(answer.status, 400, query);
      assert.match(answer.text, /role="alert"/);
      assert.match(answer.text, /<form method="get" action="\/settings\/security-log"/);
    }
    for (const id of [randomUUID(), 'x', 'A'.repeat(65)]) {
      const answer = await browser.get(`/settings/users/${id}`);
      assert.ok(answer.status === 404 || answer.status === 400, `${id}: ${answer.status}`);
      const posted = await browser.post(`/settings/users/${id}/role`, { role: 'admin' }, { formPage: '/settings/users' });
      assert.equal(posted.status, 404, id);
    }
  });

  it('keeps changes to users of another account out of reach: 404 for the page and its forms', async () => {
    const { server, api } = context();
    const mine = await signUp(api);
    const theirs = await signUp(api);
    const theirMember = await inviteAndAccept(server, api, theirs.token, 'user');
    const browser = await logInOverHTTP(server, mine.email);
    for (const id of [theirs.userId, theirMember.userId]) {
      assert.equal((await browser.get(`/settings/users/${id}`)).status, 404);
      assert.equal((await browser.post(`/settings/users/${id}/role`, { role: 'user' }, { formPage: '/settings/users' })).status, 404);
      assert.equal((await browser.post(`/settings/users/${id}/deactivate`, {}, { formPage: '/settings/users' })).status, 404);
    }
    assert.deepEqual(await roleOf(server, theirs.userId), { role: 'admin', active: 1 });
    assert.deepEqual(await roleOf(server, theirMember.userId), { role: 'user', active: 1 });
    // Their events stay in their log, and a filter naming their user finds nothing here.
    const log = await browser.get(`/settings/security-log?userId=${theirMember.userId}`);
    assert.equal(log.status, 200);
    assert.doesNotMatch(log.text, new RegExp(theirMember.email));
    assert.doesNotMatch(log.text, /Download CSV/);
  });

  it('checks recent authentication on the save itself; the password form renews it and spends the login budget', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = await logInOverHTTP(server, admin.email);
    const accountForm = await browser.get('/settings/account');
    server.clock.advance(server.config.policy.recentAuthenticationMs + 1000);

    // A form loaded while the login was recent does not make a later save recent.
    const token = /name="_csrf" value="([^"]+)"/.exec(accountForm.text)![1]!;
    const stale = await browser.post('/settings/account', { _csrf: token });
    assert.equal(stale.status, 403);
    assert.match(stale.text, /role="alert">Enter your password again to continue\./);
    assert.match(stale.text, /Confirm your password/);
    assert.doesNotMatch(stale.text, /name="enforce2fa"/);

    const wrong = await browser.post(REAUTHENTICATE, { password: 'not the password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /role="alert">The password is incorrect\./);
    assert.doesNotMatch(wrong.text, /not the password/);
    const failures = await server.deps.db.selectFrom('security_events').select('detail').where('account_id', '=', admin.accountId).where('type', '=', 'login_failed').execute();
    assert.deepEqual(failures.map((row) => JSON.parse(row.detail)), [{ reason: 'wrong_password', stage: 'reauthenticate' }]);

    const confirmed = await browser.post(REAUTHENTICATE, { password: PASSWORD });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.location, '/settings/account');
    const saved = await browser.post('/settings/account', {});
    assert.equal(saved.status, 200, saved.text);
    assert.match(saved.text, /role="status">No change: two-factor authentication was already not required/);

    // An off-site `next` is not followed.
    const offSite = await browser.post(`/reauthenticate?next=${encodeURIComponent('//evil.example/')}`, { password: PASSWORD });
    assert.equal(offSite.location, '/user');

    // Wrong passwords here count against the same per-email limit as the login form.
    for (let attempt = 0; attempt < server.config.policy.failedPasswordsPerEmail; attempt += 1) {
      assert.equal((await browser.post(REAUTHENTICATE, { password: 'wrong password' })).status, 401);
    }
    const locked = await browser.post(REAUTHENTICATE, { password: PASSWORD });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    assert.equal((await new FormSession(server).post('/login', { email: admin.email, password: PASSWORD })).status, 429);
  });

  it('shows enforcement as on and turns it off again for an admin who has a second factor', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = await logInOverHTTP(server, admin.email);
    // TOTP enrollment is being built alongside these pages; a bare confirmed-factor row stands
    // in for it, since the pages only ask which methods the admin has (listMethods). It is added
    // after the login, which would otherwise ask for a code.
    const now = server.clock.now();
    await server.deps.db.insertInto('factors').values({ id: randomUUID(), user_id: admin.userId, kind: 'totp', secret_encrypted: 'stand-in', last_used_step: null, created_at: now, confirmed_at: now }).execute();

    const on = await browser.post('/settings/account', { enforce2fa: 'on' });
    assert.equal(on.status, 200, on.text);
    assert.match(on.text, /role="status">Two-factor authentication is now required for everyone in this account\./);
    assert.match(on.text, /name="enforce2fa" type="checkbox" value="on" checked/);
    assert.match(on.text, /<strong class="status-on">On<\/strong>/);
    const shown = await browser.get('/settings/account');
    assert.match(shown.text, /name="enforce2fa" type="checkbox" value="on" checked/);

    server.clock.advance(1000); // so the two log entries have an order
    const off = await browser.post('/settings/account', {});
    assert.equal(off.status, 200);
    assert.match(off.text, /role="status">Two-factor authentication is no longer required for this account\./);
    assert.doesNotMatch(off.text, /name="enforce2fa" type="checkbox" value="on" checked/);
    const changes = await server.deps.db.selectFrom('security_events').select('detail').where('account_id', '=', admin.accountId).where('type', '=', 'enforcement_changed').orderBy('at').execute();
    assert.deepEqual(changes.map((row) => JSON.parse(row.detail)), [{ enforce2fa: true }, { enforce2fa: false }]);
  });
});
