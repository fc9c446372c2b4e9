/**
 * Trusted browsers (PRODUCT.md §2.11, §3; SECURITY.md rule 42) over the API, on SQLite and
 * PostgreSQL: a right code with trustBrowser sets the device cookie; the next password login from
 * it skips the code — never the password, never setup or a disallowed factor — until its fixed
 * expiry or the account's current days; and each way trust ends, ends it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { linkFromOutbox, PASSWORD, signUp, waitFor, type SignedUp } from '../helpers/fixtures.ts';
import type { APIClient } from '../helpers/http.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode, passwordStep, securityEvents } from '../helpers/two-factor.ts';
import { disableTwoFactor } from '../../src/factors/disable-two-factor.ts';
import { sweepExpiredRows } from '../../src/maintenance/sweep.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const COOKIE = 'twofold_trusted_browser';

interface Trusted extends SignedUp {
  secret: string;
  /** `twofold_trusted_browser=…`, as the browser sends it back. */
  cookie: string;
}

/** A user with the authenticator app who logged in with "Trust this browser". */
async function trustedUser(server: TestServer, api: APIClient): Promise<Trusted> {
  const user = await signUp(api);
  const { secret } = await enrollAuthenticatorApp(server, api, user.token);
  const cookie = await trustThisBrowser(server, api, user.email, secret);
  return { ...user, secret, cookie };
}

async function trustThisBrowser(server: TestServer, api: APIClient, email: string, secret: string): Promise<string> {
  const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret), trustBrowser: true }, { token: await passwordStep(api, email) });
  assert.equal(verified.status, 200, verified.text);
  const line = verified.headers.getSetCookie().find((value) => value.startsWith(`${COOKIE}=`));
  assert.ok(line, 'the trusted-browser cookie is set');
  return line.split(';')[0]!;
}

function loginFrom(api: APIClient, server: TestServer, email: string, cookie: string, password = PASSWORD) {
  return api.post('/login', { email, password }, { cookie, origin: server.origin });
}

async function expectCodeAsked(api: APIClient, server: TestServer, email: string, cookie: string, why: string): Promise<void> {
  const login = await loginFrom(api, server, email, cookie);
  assert.equal(login.status, 200, login.text);
  assert.equal(login.body.state, 'mfa_required', why);
}

async function adminToken(server: TestServer, api: APIClient, user: Trusted): Promise<string> {
  const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: await passwordStep(api, user.email) });
  assert.equal(verified.status, 200, verified.text);
  return verified.body.token;
}

forEachDatabase('trusted browsers', (context) => {
  it('a right code with trustBrowser sets an HttpOnly SameSite=Lax cookie whose secret is stored only as a hash, and logs trusted_browser_added', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, user.token);
    const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret), trustBrowser: true }, { token: await passwordStep(api, user.email) });
    assert.equal(verified.status, 200, verified.text);
    const line = verified.headers.getSetCookie().find((value) => value.startsWith(`${COOKIE}=`))!;
    assert.match(line, /HttpOnly/i);
    assert.match(line, /SameSite=Lax/i);
    assert.match(line, /Path=\//);
    assert.match(line, new RegExp(`Max-Age=${30 * 24 * 60 * 60}`));
    const value = line.split(';')[0]!.slice(COOKIE.length + 1);
    assert.match(value, /^[A-Za-z0-9_-]{43}$/, '256 bits');
    const rows = await server.deps.db.selectFrom('trusted_browsers').selectAll().where('user_id', '=', user.userId).execute();
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0]!.secret_hash, value);
    assert.ok(!JSON.stringify(rows).includes(value), 'the secret itself is nowhere in the row');
    assert.equal(rows[0]!.factor_kind, 'totp');
    assert.equal(Number(rows[0]!.expires_at), server.clock.now() + 30 * DAY_MS);
    assert.equal((await securityEvents(server, user.userId, 'trusted_browser_added')).length, 1);
  });

  it('the next password login from that browser completes without the code, records password,trusted, and never extends the expiry', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const before = await server.deps.db.selectFrom('trusted_browsers').select(['expires_at', 'last_used_at']).where('user_id', '=', user.userId).executeTakeFirstOrThrow();
    server.clock.advance(DAY_MS);
    const login = await loginFrom(api, server, user.email, user.cookie);
    assert.equal(login.status, 200, login.text);
    assert.equal(login.body.state, 'authenticated');
    assert.equal((await api.get('/me', { token: login.body.token })).status, 200);
    const session = await server.deps.db.selectFrom('sessions').select('auth_methods').where('user_id', '=', user.userId).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    assert.equal(session.auth_methods, 'password,trusted');
    const succeeded = await securityEvents(server, user.userId, 'login_succeeded');
    assert.ok(succeeded.some((event) => JSON.parse(event.detail).methods === 'password,trusted'), 'the security log says a trusted browser was used');
    const after = await server.deps.db.selectFrom('trusted_browsers').select(['expires_at', 'last_used_at']).where('user_id', '=', user.userId).executeTakeFirstOrThrow();
    assert.equal(Number(after.expires_at), Number(before.expires_at), 'use never extends the expiry');
    assert.equal(Number(after.last_used_at), server.clock.now());
  });

  it('never skips the password: a wrong password from a trusted browser is still 401', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const login = await loginFrom(api, server, user.email, user.cookie, 'not the password');
    assert.equal(login.status, 401);
    assert.equal(login.body.error, 'invalid_credentials');
  });

  it("another user's cookie, a forged one and a malformed one all get the code asked", async () => {
    const { server, api } = context();
    const alice = await trustedUser(server, api);
    const bob = await trustedUser(server, api);
    await expectCodeAsked(api, server, bob.email, alice.cookie, "alice's cookie for bob");
    await expectCodeAsked(api, server, bob.email, `${COOKIE}=${'A'.repeat(43)}`, 'forged');
    await expectCodeAsked(api, server, bob.email, `${COOKIE}=x`, 'malformed');
    // Bob's own cookie still works: the refusals above changed nothing.
    assert.equal((await loginFrom(api, server, bob.email, bob.cookie)).body.state, 'authenticated');
  });

  it('expires at its fixed date, 30 days after the grant', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    server.clock.advance(30 * DAY_MS - 60_000);
    assert.equal((await loginFrom(api, server, user.email, user.cookie)).body.state, 'authenticated');
    server.clock.advance(60_000);
    await expectCodeAsked(api, server, user.email, user.cookie, 'expired');
  });

  it('days shortened after the grant apply to trust already granted; 0 turns it off and grants none', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const token = await adminToken(server, api, user);
    const shortened = await api.patch('/account/policy', { trustedBrowserDays: 7 }, { token });
    assert.equal(shortened.status, 200, shortened.text);
    assert.equal(shortened.body.trustedBrowserDays, 7);
    assert.deepEqual(shortened.body.allowedMethods, ['totp', 'sms', 'webauthn'], 'the method policy is left as it was');
    assert.equal((await api.get('/account/policy', { token })).body.trustedBrowserDays, 7);
    server.clock.advance(6 * DAY_MS);
    assert.equal((await loginFrom(api, server, user.email, user.cookie)).body.state, 'authenticated');
    server.clock.advance(DAY_MS);
    await expectCodeAsked(api, server, user.email, user.cookie, '7 days after the grant');

    const fresh = await trustThisBrowser(server, api, user.email, user.secret);
    const off = await api.patch('/account/policy', { trustedBrowserDays: 0 }, { token: await adminToken(server, api, user) });
    assert.equal(off.status, 200, off.text);
    await expectCodeAsked(api, server, user.email, fresh, '0 = off');
    const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret), trustBrowser: true }, { token: await passwordStep(api, user.email) });
    assert.equal(verified.status, 200);
    assert.ok(!verified.headers.getSetCookie().some((value) => value.startsWith(`${COOKIE}=`)), 'no trust is granted while it is off');
  });

  it('refuses days outside 0–90 and a plain user patching them, changing nothing', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const token = await adminToken(server, api, user);
    for (const days of [-1, 91, 1.5, '30', null]) {
      const refused = await api.patch('/account/policy', { trustedBrowserDays: days }, { token });
      assert.equal(refused.status, 400, `${JSON.stringify(days)}: ${refused.text}`);
    }
    assert.equal((await api.get('/account/policy', { token })).body.trustedBrowserDays, 30);
  });

  it('a trust granted after a factor the policy no longer allows skips nothing: the user goes to setup, never past it', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const token = await adminToken(server, api, user);
    assert.equal((await api.patch('/account/policy', { allowedMethods: ['sms'] }, { token })).status, 200);
    const login = await loginFrom(api, server, user.email, user.cookie);
    assert.equal(login.status, 200, login.text);
    assert.equal(login.body.state, 'enrollment_required');
  });

  it('a phishing-resistant policy is never skipped', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    // Set directly: requiring it over the API needs the admin's own security key (tested in method-policy.test.ts).
    await server.deps.db.insertInto('account_policies').values({ account_id: user.accountId, allowed_methods: 'totp,sms,webauthn', require_phishing_resistant: 1, updated_at: server.clock.now() }).execute();
    const login = await loginFrom(api, server, user.email, user.cookie);
    assert.notEqual(login.body.state, 'authenticated');
  });

  it('a recovery code never trusts the browser: trustBrowser beside it is a 400, charged as a guess, and the login stays unfinished', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const { recoveryCodes } = await enrollAuthenticatorApp(server, api, user.token);
    const pending = await passwordStep(api, user.email);
    const refused = await api.post('/login/verify', { method: 'recovery', code: recoveryCodes[0], trustBrowser: true }, { token: pending });
    assert.equal(refused.status, 400, refused.text);
    assert.equal((await server.deps.db.selectFrom('trusted_browsers').select('id').where('user_id', '=', user.userId).execute()).length, 0);
    const challenge = await server.deps.db.selectFrom('login_challenges').select('attempts').where('user_id', '=', user.userId).executeTakeFirstOrThrow();
    assert.equal(Number(challenge.attempts), 1, 'charged as a guess (rule 33)');
    const verified = await api.post('/login/verify', { method: 'recovery', code: recoveryCodes[0] }, { token: pending });
    assert.equal(verified.status, 200, 'the code was not spent by the refused body');
  });

  it('lists trusted browsers with a public id, removes one (another user’s id is 404), and a removed cookie replayed asks for the code', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const other = await trustedUser(server, api);
    const token = await adminToken(server, api, user);
    const listed = await api.get('/me/trusted-browsers', { token });
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.body.trustedBrowsers.length, 1);
    const [entry] = listed.body.trustedBrowsers;
    assert.ok(!user.cookie.includes(entry.id), 'the id is not the secret');
    assert.equal(entry.lastUsedAt, null);
    const otherId = (await api.get('/me/trusted-browsers', { token: await adminToken(server, api, other) })).body.trustedBrowsers[0].id;
    assert.equal((await api.delete(`/me/trusted-browsers/${otherId}`, undefined, { token })).status, 404);
    assert.equal((await loginFrom(api, server, other.email, other.cookie)).body.state, 'authenticated', "the other user's trust stands");
    assert.equal((await api.delete(`/me/trusted-browsers/${entry.id}`, undefined, { token })).status, 204);
    assert.equal((await api.delete(`/me/trusted-browsers/${entry.id}`, undefined, { token })).status, 404);
    await expectCodeAsked(api, server, user.email, user.cookie, 'replayed after removal');
    const removed = await securityEvents(server, user.userId, 'trusted_browser_removed');
    assert.equal(JSON.parse(removed[0]!.detail).reason, 'removed');
  });

  it('"Remove all" ends every trusted browser of the user, and concurrent removals of one browser succeed once', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const second = await trustThisBrowser(server, api, user.email, user.secret);
    const token = await adminToken(server, api, user);
    const [first] = (await api.get('/me/trusted-browsers', { token })).body.trustedBrowsers;
    const answers = await Promise.all(Array.from({ length: 6 }, () => api.delete(`/me/trusted-browsers/${first.id}`, undefined, { token })));
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [204, 404, 404, 404, 404, 404]);
    assert.equal((await api.delete('/me/trusted-browsers', undefined, { token })).status, 204);
    await expectCodeAsked(api, server, user.email, user.cookie, 'after remove all (first)');
    await expectCodeAsked(api, server, user.email, second, 'after remove all (second)');
    assert.deepEqual((await api.get('/me/trusted-browsers', { token })).body.trustedBrowsers, []);
    const events = await securityEvents(server, user.userId, 'trusted_browser_removed');
    assert.ok(events.some((event) => JSON.parse(event.detail).reason === 'removed_all'));
  });

  it('a password reset ends the trust granted before it', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    await api.post('/password/forgot', { email: user.email });
    await waitFor(() => server.outbox.list().some((message) => message.to === user.email && message.body.includes('/password/reset/')));
    const reset = await api.post('/password/reset', { token: linkFromOutbox(server, user.email, '/password/reset/'), password: PASSWORD });
    assert.equal(reset.status, 204, reset.text);
    await expectCodeAsked(api, server, user.email, user.cookie, 'after a password reset');
    const events = await securityEvents(server, user.userId, 'trusted_browser_removed');
    assert.equal(JSON.parse(events[0]!.detail).reason, 'password_reset');
  });

  it('a factor change (a new authenticator app secret) ends the trust granted before it', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const token = await adminToken(server, api, user);
    const replaced = await enrollAuthenticatorApp(server, api, token);
    await expectCodeAsked(api, server, user.email, user.cookie, 'after a new secret');
    assert.equal((await server.deps.db.selectFrom('trusted_browsers').select('id').where('user_id', '=', user.userId).execute()).length, 0);
    assert.ok(replaced.secret);
    const events = await securityEvents(server, user.userId, 'trusted_browser_removed');
    assert.equal(JSON.parse(events[0]!.detail).reason, 'factor_added');
  });

  it('turning 2FA off ends it (the trust would otherwise outlive the factor it was granted after)', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    const token = await adminToken(server, api, user);
    const disabled = await api.delete('/me/2fa', { password: PASSWORD }, { token });
    assert.equal(disabled.status, 204, disabled.text);
    assert.equal((await server.deps.db.selectFrom('trusted_browsers').select('id').where('user_id', '=', user.userId).execute()).length, 0);
    const events = await securityEvents(server, user.userId, 'trusted_browser_removed');
    assert.equal(JSON.parse(events[0]!.detail).reason, 'factor_removed');
  });

  it('the support command and a used disable link end it too (the same disabling function they call), saying why', async () => {
    const { server, api } = context();
    const origin = { ip: null, userAgent: null };
    for (const path of [{ kind: 'support', reason: 'lost phone, checked ID' }, { kind: 'disable_link' }] as const) {
      const user = await trustedUser(server, api);
      const subject = { userId: user.userId, accountId: user.accountId, email: user.email, name: 'Ada' };
      assert.ok(await disableTwoFactor(server.deps, subject, path, origin));
      assert.equal((await server.deps.db.selectFrom('trusted_browsers').select('id').where('user_id', '=', user.userId).execute()).length, 0, path.kind);
      const [event] = await server.deps.db.selectFrom('security_events').select(['detail', 'actor_kind']).where('subject_user_id', '=', user.userId).where('type', '=', 'trusted_browser_removed').execute();
      assert.equal(JSON.parse(event!.detail).reason, path.kind === 'support' ? 'support_reset' : 'disable_link_used');
      assert.equal(event!.actor_kind, path.kind === 'support' ? 'support' : 'user');
    }
  });

  it('"This wasn\'t me" ends every trusted browser of the user, saying why (PRODUCT.md §2.11, §2.12)', async () => {
    const { server, api } = context();
    const user = await trustedUser(server, api);
    // The "Authenticator app added" notice carries the report link.
    await waitFor(() => server.outbox.list().some((m) => m.to === user.email && m.body.includes('/security/report/')));
    const report = linkFromOutbox(server, user.email, '/security/report/');
    const reported = await api.post(`/security/reports/${report}`, undefined);
    assert.equal(reported.status, 204, reported.text);
    assert.equal((await server.deps.db.selectFrom('trusted_browsers').select('id').where('user_id', '=', user.userId).execute()).length, 0);
    const events = await securityEvents(server, user.userId, 'trusted_browser_removed');
    assert.deepEqual(events.map((event) => JSON.parse(event.detail).reason), ['suspicious_activity_reported']);
  });

  it('the periodic sweep deletes trust past its fixed expiry and keeps the rest', async () => {
    const { server, api } = context();
    const old = await trustedUser(server, api);
    server.clock.advance(20 * DAY_MS);
    const recent = await trustedUser(server, api);
    server.clock.advance(10 * DAY_MS + 1);
    await sweepExpiredRows(server.deps.db, server.clock, server.config.policy);
    const left = await server.deps.db.selectFrom('trusted_browsers').select('user_id').where('user_id', 'in', [old.userId, recent.userId]).execute();
    assert.deepEqual(left.map((row) => row.user_id), [recent.userId]);
  });
});
