/**
 * E-mail verification (issue 17) on both databases: sign-up e-mails a single-use, 7-day link;
 * opening it (GET) consumes nothing; the POST verifies once; until then the pages show the banner,
 * GET /me says emailVerified false and OpenID Connect says email_verified false; an accepted
 * invitation and a completed password reset prove the address too; the resend is capped.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hashToken } from '../../src/crypto/tokens.ts';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, linkFromOutbox, PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { authorizationRequest, callbackOf, exchange, registerClient, signInThroughPages } from '../helpers/oidc.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';

const DAY = 24 * 3_600_000;

async function verificationToken(server: TestServer, email: string): Promise<string> {
  await waitFor(() => server.outbox.list().some((m) => m.to === email && m.body.includes('/email/verify/')));
  return linkFromOutbox(server, email, '/email/verify/');
}

async function signInToApplication(server: TestServer, email: string): Promise<Record<string, unknown>> {
  const client = await registerClient(server);
  const attempt = await authorizationRequest(client);
  const callback = callbackOf(await signInThroughPages(server, new FormSession(server), attempt, email, PASSWORD));
  return (await exchange(client, attempt, callback)).claims()!;
}

forEachDatabase('E-mail verification', (context) => {
  it('sign-up e-mails a link to PUBLIC_URL/email/verify/<token>, stored only as a hash', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const token = await verificationToken(server, admin.email);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    const message = server.outbox.list().find((m) => m.to === admin.email && m.body.includes('/email/verify/'))!;
    assert.ok(message.body.includes(`${server.config.publicURL.origin}/email/verify/${token}`));
    const row = await server.deps.db.selectFrom('links').selectAll().where('user_id', '=', admin.userId).where('kind', '=', 'email_verification').executeTakeFirstOrThrow();
    assert.equal(row.token_hash, hashToken(token));
    assert.equal(Number(row.expires_at) - Number(row.created_at), 7 * DAY);
  });

  it('until verified: GET /me says emailVerified false, the pages show the banner, and nothing is blocked', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const me = await api.get('/me', { token: admin.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.emailVerified, false);
    const browser = new FormSession(server);
    await browser.post('/login', { email: admin.email, password: PASSWORD });
    const page = await browser.get('/user');
    assert.equal(page.status, 200);
    assert.match(page.text, /Please verify your email address/);
    assert.match(page.text, /Resend verification e-mail/);
    assert.equal((await browser.get('/settings/users')).status, 200, 'admin pages still open');
  });

  it('opening the link (GET) consumes nothing; the POST verifies once; the banner and the false claims go', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const token = await verificationToken(server, admin.email);
    const visitor = new FormSession(server);
    let csrf = '';
    for (let i = 0; i < 3; i += 1) {
      const opened = await visitor.get(`/email/verify/${token}`);
      assert.equal(opened.status, 200);
      assert.match(opened.text, /Verify email address/);
      csrf = /name="_csrf" value="([^"]+)"/.exec(opened.text)![1]!;
    }
    assert.equal((await api.get('/me', { token: admin.token })).body.user.emailVerified, false, 'GET changed nothing');
    assert.equal((await signInToApplication(server, admin.email)).email_verified, false);

    const verified = await visitor.post(`/email/verify/${token}`, {});
    assert.equal(verified.status, 200);
    assert.match(verified.text, /Email address verified/);
    assert.equal((await api.get('/me', { token: admin.token })).body.user.emailVerified, true);
    assert.equal((await signInToApplication(server, admin.email)).email_verified, true);

    const browser = new FormSession(server);
    await browser.post('/login', { email: admin.email, password: PASSWORD });
    assert.doesNotMatch((await browser.get('/user')).text, /Please verify your email address/);

    assert.equal((await visitor.post(`/email/verify/${token}`, { _csrf: csrf })).status, 410, 'single use (page)');
    const again = await api.post('/email/verify', { token });
    assert.equal(again.status, 410, 'single use (API)');
    assert.equal(again.body.error, 'link_expired');
  });

  it('POST /api/v1/email/verify answers 204, then 410; an expired link answers 410 and verifies nothing', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const token = await verificationToken(server, admin.email);
    assert.equal((await api.post('/email/verify', { token })).status, 204);
    assert.equal((await api.post('/email/verify', { token })).status, 410);

    const late = await signUp(api);
    const lateToken = await verificationToken(server, late.email);
    server.clock.advance(7 * DAY + 1000);
    try {
      assert.equal((await request(server.url, 'GET', `/email/verify/${lateToken}`)).status, 410);
      const expired = await api.post('/email/verify', { token: lateToken });
      assert.equal(expired.status, 410);
      assert.equal(expired.body.error, 'link_expired');
    } finally {
      server.clock.advance(-(7 * DAY + 1000));
    }
    assert.equal((await api.get('/me', { token: late.token })).body.user.emailVerified, false);
    const bad = await api.post('/email/verify', { token: 'not a token' });
    assert.equal(bad.status, 410);
    assert.equal((await api.post('/email/verify', {})).status, 400, 'a missing token is a bad request');
  });

  it('resend: a new link voids the old one; capped at 3 an hour (429); nothing once verified', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const first = await verificationToken(server, admin.email);
    const resent = await api.post('/me/email/verification', undefined, { token: admin.token });
    assert.equal(resent.status, 202, resent.text);
    assert.equal(resent.body.sent, true);
    await waitFor(() => linkFromOutbox(server, admin.email, '/email/verify/') !== first);
    const second = linkFromOutbox(server, admin.email, '/email/verify/');
    assert.equal((await api.post('/email/verify', { token: first })).status, 410, 'the older link is void');
    for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/me/email/verification', undefined, { token: admin.token })).status, 202);
    const capped = await api.post('/me/email/verification', undefined, { token: admin.token });
    assert.equal(capped.status, 429);
    assert.ok(capped.headers.get('retry-after'));
    const latest = linkFromOutbox(server, admin.email, '/email/verify/');
    assert.notEqual(latest, second);
    assert.equal((await api.post('/email/verify', { token: latest })).status, 204);

    const other = await signUp(api);
    await api.post('/email/verify', { token: await verificationToken(server, other.email) });
    const none = await api.post('/me/email/verification', undefined, { token: other.token });
    assert.equal(none.status, 202);
    assert.equal(none.body.sent, false);
  });

  it('the banner button resends, and User Details says so (then, over the cap, to wait)', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = new FormSession(server);
    await browser.post('/login', { email: admin.email, password: PASSWORD });
    const answer = await browser.post('/email/verification', {}, { formPage: '/settings/users' });
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/user?verification=sent');
    assert.match((await browser.get(answer.location!)).text, /We sent a new link/);
    for (let i = 0; i < 2; i += 1) await browser.post('/email/verification', {}, { formPage: '/user' });
    const capped = await browser.post('/email/verification', {}, { formPage: '/user' });
    assert.equal(capped.location, '/user?verification=wait');
    assert.match((await browser.get(capped.location!)).text, /Wait an hour/);
  });

  it('an accepted invitation proves the address; so does a completed password reset', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const invited = await inviteAndAccept(server, api, admin.token);
    const users = await api.get(`/account/users?email=${encodeURIComponent(invited.email)}`, { token: admin.token });
    assert.equal(users.body.users[0].emailVerified, true);
    assert.equal((await signInToApplication(server, invited.email)).email_verified, true);
    assert.ok(!server.outbox.list().some((m) => m.to === invited.email && m.body.includes('/email/verify/')), 'no verification e-mail to an invited user');

    const resetter = await signUp(api, uniqueEmail('resetter'));
    assert.equal((await api.post('/password/forgot', { email: resetter.email })).status, 202);
    await waitFor(() => server.outbox.list().some((m) => m.to === resetter.email && m.body.includes('/password/reset/')));
    const resetToken = linkFromOutbox(server, resetter.email, '/password/reset/');
    assert.equal((await api.post('/password/reset', { token: resetToken, password: 'another fine passphrase' })).status, 204);
    const login = await api.post('/login', { email: resetter.email, password: 'another fine passphrase' });
    assert.equal((await api.get('/me', { token: login.body.token })).body.user.emailVerified, true);
  });
});
