/**
 * Page behaviour that needs exact statuses and headers, over plain HTTP with a cookie jar that
 * fills in forms as a browser would (FormSession): open redirects, links that must not be used
 * up by opening them, one answer for every kind of dead link, session fixation, escaping.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hashToken } from '../../src/crypto/tokens.ts';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, linkFromOutbox, PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { startTestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';

/** Page bodies differ only in their fresh CSRF token; compare them without it. */
function withoutCSRFToken(text: string): string {
  return text.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""');
}

forEachDatabase('pages over HTTP', (context) => {
  async function loggedOutWith(email: string, next: string): Promise<string | null> {
    const browser = new FormSession(context().server);
    const path = `/login?next=${encodeURIComponent(next)}`;
    const answer = await browser.post(path, { email, password: PASSWORD });
    assert.equal(answer.status, 303, answer.text);
    return answer.location;
  }

  it('follows `next` after login only to a path on this site (no open redirect)', async () => {
    const { api } = context();
    const { email } = await signUp(api);
    assert.equal(await loggedOutWith(email, '/settings/users?cursor=abc'), '/settings/users?cursor=abc');
    for (const next of ['//evil.example/x', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', 'https://evil.example/', 'javascript:alert(1)', 'evil.example', ' //evil.example']) {
      assert.equal(await loggedOutWith(email, next), '/user', `next=${JSON.stringify(next)}`);
    }
  });

  it('never puts an unsafe `next` into the login form or follows it for a signed-in visitor', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    const browser = new FormSession(server);
    const page = await browser.get('/login?next=%2F%2Fevil.example');
    assert.match(page.text, /action="\/login"/);
    assert.doesNotMatch(page.text, /evil\.example/);
    await browser.post('/login', { email, password: PASSWORD });
    const again = await browser.get('/login?next=%2F%2Fevil.example');
    assert.equal(again.status, 303);
    assert.equal(again.location, '/user');
  });

  it('answers a wrong password and an unknown email with the same page and status', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    const wrongPassword = await new FormSession(server).post('/login', { email, password: 'not the password' });
    const unknownEmail = await new FormSession(server).post('/login', { email: uniqueEmail('nobody'), password: 'not the password' });
    assert.equal(wrongPassword.status, 401);
    assert.equal(unknownEmail.status, 401);
    const strip = (text: string, address: string) => withoutCSRFToken(text).replace(address, 'EMAIL');
    assert.equal(strip(wrongPassword.text, email), strip(unknownEmail.text, /value="([^"]+@example\.com)"/.exec(unknownEmail.text)![1]!));
    assert.match(wrongPassword.text, /role="alert">The email or password is incorrect\./);
    assert.doesNotMatch(wrongPassword.text, /not the password/);
  });

  it('refuses the login form after too many failures with 429 and Retry-After, like the API', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    const browser = new FormSession(server);
    for (let attempt = 0; attempt < server.config.policy.failedPasswordsPerEmail; attempt += 1) {
      assert.equal((await browser.post('/login', { email, password: 'wrong password' })).status, 401);
    }
    const refused = await browser.post('/login', { email, password: PASSWORD });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
  });

  it('never adopts a session token the browser already carried: login issues a new one and ends the old', async () => {
    const { server, api } = context();
    const { email, token: earlier } = await signUp(api);
    const planted = new FormSession(server);
    planted.setCookie('twofold_session', 'planted-by-someone-else-0123456789abcdefghijk');
    assert.equal((await planted.post('/login', { email, password: PASSWORD })).status, 303);
    assert.notEqual(planted.cookie('twofold_session'), 'planted-by-someone-else-0123456789abcdefghijk');

    const browser = new FormSession(server);
    browser.setCookie('twofold_session', earlier);
    const answer = await browser.post('/login', { email, password: PASSWORD }, { formPage: '/signup' });
    assert.equal(answer.status, 303);
    const issued = browser.cookie('twofold_session');
    assert.ok(issued && issued !== earlier);
    assert.equal((await api.get('/me', { token: earlier })).status, 401);
    assert.equal((await api.get('/me', { token: issued })).status, 200);
  });

  it('logging out revokes the session and clears its cookie', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    const browser = new FormSession(server);
    await browser.post('/login', { email, password: PASSWORD });
    const token = browser.cookie('twofold_session')!;
    const answer = await browser.post('/logout', {}, { formPage: '/user' });
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/login');
    assert.equal(browser.cookie('twofold_session'), undefined);
    assert.equal((await api.get('/me', { token })).status, 401);
  });

  it('re-renders the sign-up form with the input but never the password, with the right status', async () => {
    const { server, api } = context();
    const taken = await signUp(api);
    const browser = new FormSession(server);
    const short = await browser.post('/signup', { accountName: 'Kept Account', name: 'Kept Name', email: uniqueEmail(), password: 'short12' });
    assert.equal(short.status, 400);
    assert.match(short.text, /value="Kept Account"/);
    assert.match(short.text, /role="alert">The password must be between 8 and 128 characters\./);
    assert.doesNotMatch(short.text, /short12/);
    const duplicate = await browser.post('/signup', { accountName: 'A', name: 'B', email: taken.email, password: 'long enough password' });
    assert.equal(duplicate.status, 409);
    assert.doesNotMatch(duplicate.text, /long enough password/);
    const unknownField = await browser.post('/signup', { accountName: 'A', name: 'B', email: uniqueEmail(), password: 'long enough password', role: 'admin' });
    assert.equal(unknownField.status, 400);
  });

  it('opening a reset or invitation link consumes nothing; only setting the password does', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = new FormSession(server);
    const invitee = uniqueEmail('invitee');
    assert.equal((await api.post('/account/users', { email: invitee, name: 'In Vitee', role: 'user' }, { token: admin.token })).status, 201);
    await waitFor(() => server.outbox.list().some((m) => m.to === invitee));
    const invitation = linkFromOutbox(server, invitee, '/invitations/');
    for (let opened = 0; opened < 3; opened += 1) assert.equal((await browser.get(`/invitations/${invitation}`)).status, 200);
    const row = await server.deps.db.selectFrom('links').select('consumed_at').where('token_hash', '=', hashToken(invitation)).executeTakeFirstOrThrow();
    assert.equal(row.consumed_at, null);
    const accepted = await browser.post(`/invitations/${invitation}`, { password: 'invitee password' });
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal(browser.cookie('twofold_session'), undefined, 'accepting an invitation does not log in');

    await browser.post('/password/forgot', { email: admin.email });
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
    const resetToken = linkFromOutbox(server, admin.email, '/password/reset/');
    for (let opened = 0; opened < 3; opened += 1) assert.equal((await browser.get(`/password/reset/${resetToken}`)).status, 200);
    const reset = await browser.post(`/password/reset/${resetToken}`, { password: 'a new long password' });
    assert.equal(reset.status, 200, reset.text);
    assert.match(reset.text, /href="\/login"/);
    assert.equal(browser.cookie('twofold_session'), undefined, 'a reset does not log in');
  });

  it('shows one and the same 410 page for used, expired and unknown reset links', async () => {
    const { server, api } = context();
    const requestLink = async (email: string) => {
      await new FormSession(server).post('/password/forgot', { email });
      await waitFor(() => server.outbox.list().some((m) => m.to === email && m.body.includes('/password/reset/')));
      return linkFromOutbox(server, email, '/password/reset/');
    };
    const used = await requestLink((await signUp(api)).email);
    assert.equal((await new FormSession(server).post(`/password/reset/${used}`, { password: 'a new long password' })).status, 200);
    const expired = await requestLink((await signUp(api)).email);
    server.clock.advance(server.config.policy.resetLinkMs + 1000);
    const answers = await Promise.all([used, expired, 'A'.repeat(43), 'x'].map((token) => new FormSession(server).get(`/password/reset/${token}`)));
    for (const answer of answers) assert.equal(answer.status, 410);
    assert.equal(new Set(answers.map((answer) => answer.text)).size, 1);
    const posted = await new FormSession(server).post(`/password/reset/${expired}`, { password: 'a new long password' }, { formPage: '/password/forgot' });
    assert.equal(posted.status, 410);
  });

  it('gives the forgot-password form the same answer whether or not the email has an account', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    const known = await new FormSession(server).post('/password/forgot', { email });
    const unknown = await new FormSession(server).post('/password/forgot', { email: uniqueEmail('nobody') });
    assert.equal(known.status, 200);
    assert.equal(withoutCSRFToken(known.text), withoutCSRFToken(unknown.text));
  });

  it('takes a form whose Origin the browser nulled under Referrer-Policy: no-referrer only when Fetch Metadata says same-origin', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    // Chromium and Firefox send "Origin: null" for a same-origin form post from a no-referrer page.
    const fromOurPage = await new FormSession(server).post('/login', { email, password: PASSWORD }, { origin: 'null', headers: { 'sec-fetch-site': 'same-origin' } });
    assert.equal(fromOurPage.status, 303, fromOurPage.text);
    for (const site of [null, 'same-site', 'cross-site', 'none']) {
      const refused = await new FormSession(server).post('/login', { email, password: PASSWORD }, { origin: 'null', headers: site ? { 'sec-fetch-site': site } : {} });
      assert.equal(refused.status, 403, `Origin: null with Sec-Fetch-Site ${site}`);
    }
  });

  it('shows the outbox newest first, with message bodies as text so nothing in an e-mail becomes markup', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const first = uniqueEmail('first');
    const markup = uniqueEmail('markup');
    await api.post('/account/users', { email: first, name: 'First Invited', role: 'user' }, { token: admin.token });
    await waitFor(() => server.outbox.list().some((m) => m.to === first));
    await api.post('/account/users', { email: markup, name: '<img src=x onerror=alert(1)>', role: 'user' }, { token: admin.token });
    await waitFor(() => server.outbox.list().some((m) => m.to === markup));
    const page = await new FormSession(server).get('/dev/outbox');
    assert.equal(page.status, 200);
    assert.match(page.text, /Hello &lt;img src=x onerror=alert\(1\)&gt;/);
    assert.doesNotMatch(page.text, /<img src=x/);
    assert.ok(page.text.indexOf(markup) < page.text.indexOf(first), 'newest first');
  });

  it('keeps Settings to administrators and sends an enrollment-required session to User Details only', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token, 'user');
    const browser = new FormSession(server);
    await browser.post('/login', { email: member.email, password: PASSWORD });
    assert.equal((await browser.get('/settings/users')).status, 403);
    assert.equal((await browser.get('/settings/account')).status, 403);

    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', admin.accountId).execute();
    const enrolling = new FormSession(server);
    const login = await enrolling.post('/login', { email: member.email, password: PASSWORD });
    assert.equal(login.location, '/user');
    const details = await enrolling.get('/user');
    assert.equal(details.status, 200);
    assert.match(details.text, /requires two-factor authentication/);
    assert.match(details.text, /id="two-factor-enrollment"/);
    const elsewhere = await enrolling.get('/settings/account');
    assert.equal(elsewhere.status, 303);
    assert.equal(elsewhere.location, '/user');
  });

  it('lists the users of the admin\'s own account only, with a Next page link past the first page', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const other = await signUp(api);
    for (let index = 0; index < 50; index += 1) {
      await api.post('/account/users', { email: uniqueEmail(`member${index}`), name: `Member ${index}`, role: 'user' }, { token: admin.token });
    }
    const browser = new FormSession(server);
    await browser.post('/login', { email: admin.email, password: PASSWORD });
    const first = await browser.get('/settings/users');
    assert.equal(first.status, 200);
    assert.doesNotMatch(first.text, new RegExp(other.email));
    const next = /href="(\/settings\/users\?cursor=[^"]+)">Next page</.exec(first.text);
    assert.ok(next, 'a Next page link');
    const second = await browser.get(next[1]!.replace(/&amp;/g, '&'));
    assert.equal(second.status, 200);
    assert.equal((second.text.match(/<tr>/g) ?? []).length, 1 + 1, 'header row and the one remaining user');
  });
});

it('refuses sign-up with 403 when it is switched off', async () => {
  const server = await startTestServer('sqlite', { env: { SIGNUP_ENABLED: 'false' } });
  try {
    const browser = new FormSession(server);
    assert.equal((await browser.get('/signup')).status, 403);
    const posted = await browser.post('/signup', { accountName: 'A', name: 'B', email: uniqueEmail(), password: 'long enough password' }, { formPage: '/login' });
    assert.equal(posted.status, 403);
    assert.equal(await server.deps.db.selectFrom('users').select('id').executeTakeFirst(), undefined);
    assert.doesNotMatch((await browser.get('/login')).text, /href="\/signup"/);
  } finally {
    await server.close();
  }
});
