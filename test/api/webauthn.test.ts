/**
 * Security keys through the API (PRODUCT.md §2.9, §3 "More API"; SECURITY.md rules 1, 6, 33–36),
 * with a software authenticator that produces real attestations and assertions
 * (test/helpers/soft-authenticator.ts), on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, logIn, PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { disableTwoFactor } from '../../src/factors/disable-two-factor.ts';
import type { APIClient } from '../helpers/http.ts';
import type { TestServer } from '../helpers/server.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, passwordStep, securityEvents } from '../helpers/two-factor.ts';

async function registerKey(server: TestServer, api: APIClient, token: string, key = new SoftAuthenticator(server.origin), name = 'YubiKey') {
  const options = await api.post('/me/2fa/webauthn/options', undefined, { token });
  assert.equal(options.status, 200, options.text);
  const registered = await api.post('/me/2fa/webauthn', { name, response: key.register(options.body.options) }, { token });
  assert.equal(registered.status, 201, registered.text);
  return { key, body: registered.body };
}

async function loginOptions(api: APIClient, pending: string) {
  const options = await api.post('/login/webauthn/options', undefined, { token: pending });
  assert.equal(options.status, 200, options.text);
  return options.body.options;
}

forEachDatabase(
  'security keys (WebAuthn)',
  (context) => {
    it('registers a key (recovery codes with the first factor only), logs in with it as method webauthn, lists and removes keys', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const first = await registerKey(server, api, admin.token);
      assert.equal(first.body.key.name, 'YubiKey');
      assert.equal(first.body.recoveryCodes.length, 10);
      const me = await api.get('/me', { token: admin.token });
      assert.deepEqual(me.body.twoFactor, { enabled: true, methods: ['webauthn'] });
      const enrolled = await securityEvents(server, admin.userId, 'factor_enrolled');
      assert.equal(JSON.parse(enrolled[0]!.detail).method, 'webauthn');
      assert.ok(server.outbox.list().some((m) => m.to === admin.email && /Security key added/.test(m.subject ?? '')));

      server.clock.advance(1000);
      const second = await registerKey(server, api, admin.token, undefined, 'Work laptop');
      assert.equal(second.body.recoveryCodes, undefined, 'a second key leaves the saved codes alone');

      const pending = await passwordStep(api, admin.email);
      const login = await api.post('/login', { email: admin.email, password: 'correct horse battery' });
      assert.deepEqual(login.body.methods, ['webauthn']);
      const options = await loginOptions(api, pending);
      assert.equal(options.rpId, 'localhost');
      assert.equal(options.allowCredentials.length, 2);
      const verified = await api.post('/login/verify', { method: 'webauthn', response: second.key.assert(options) }, { token: pending });
      assert.equal(verified.status, 200, verified.text);
      const token = verified.body.token;
      const succeeded = await securityEvents(server, admin.userId, 'login_succeeded');
      assert.ok(succeeded.some((e) => JSON.parse(e.detail).methods === 'password,webauthn'));

      const listed = await api.get('/me/2fa/webauthn', { token });
      assert.deepEqual(listed.body.keys.map((k: { name: string }) => k.name), ['YubiKey', 'Work laptop']);
      assert.equal(listed.body.keys[0].lastUsedAt, null);
      assert.ok(listed.body.keys[1].lastUsedAt);

      const removed = await api.delete(`/me/2fa/webauthn/${listed.body.keys[1].id}`, undefined, { token });
      assert.equal(removed.status, 204, removed.text);
      const last = await api.delete(`/me/2fa/webauthn/${listed.body.keys[0].id}`, undefined, { token });
      assert.equal(last.status, 409, 'the only method is turned off with Disable Two Factor');
      assert.equal(last.body.error, 'last_method');
      const removedEvents = await securityEvents(server, admin.userId, 'factor_removed');
      assert.equal(JSON.parse(removedEvents[0]!.detail).methods, 'webauthn');

      const again = await passwordStep(api, admin.email);
      const againOptions = await loginOptions(api, again);
      assert.equal(againOptions.allowCredentials.length, 1);
      const removedKey = await api.post('/login/verify', { method: 'webauthn', response: second.key.assert(againOptions) }, { token: again });
      assert.equal(removedKey.status, 401, 'a removed key proves nothing');
    });

    it('refuses assertions for another origin, RP ID, challenge, type or a forged signature, each charged as a wrong code (rules 1, 35, 36)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { key } = await registerKey(server, api, admin.token);
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const cases = [{ origin: 'https://evil.example' }, { rpID: 'evil.example' }, { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { type: 'webauthn.create' }, { signWith: otherKey }];
      for (const overrides of cases) {
        const pending = await passwordStep(api, admin.email);
        const options = await loginOptions(api, pending);
        const refused = await api.post('/login/verify', { method: 'webauthn', response: key.assert(options, overrides) }, { token: pending });
        assert.equal(refused.status, 401, `${JSON.stringify(Object.keys(overrides))}: ${refused.text}`);
      }
      const failed = await securityEvents(server, admin.userId, 'second_factor_failed');
      assert.equal(failed.length, cases.length);
      assert.ok(failed.every((event) => JSON.parse(event.detail).method === 'webauthn'));
    });

    it("refuses an assertion answering another user's challenge, and another user's credential (rule 35)", async () => {
      const { api, server } = context();
      const alice = await signUp(api);
      const bob = await signUp(api, uniqueEmail('bob'));
      const aliceKey = (await registerKey(server, api, alice.token)).key;
      const bobKey = (await registerKey(server, api, bob.token)).key;
      const alicePending = await passwordStep(api, alice.email);
      const bobPending = await passwordStep(api, bob.email);
      const bobOptions = await loginOptions(api, bobPending);
      await loginOptions(api, alicePending);
      // Bob's key answering Bob's challenge, sent on Alice's login.
      const crossed = await api.post('/login/verify', { method: 'webauthn', response: bobKey.assert(bobOptions) }, { token: alicePending });
      assert.equal(crossed.status, 401);
      // Alice's key answering Bob's challenge on Bob's login: not Bob's credential.
      const bobOptions2 = await loginOptions(api, bobPending);
      const foreign = await api.post('/login/verify', { method: 'webauthn', response: aliceKey.assert(bobOptions2) }, { token: bobPending });
      assert.equal(foreign.status, 401);
      // Bob's own key on a fresh challenge still works.
      const bobOptions3 = await loginOptions(api, bobPending);
      assert.equal((await api.post('/login/verify', { method: 'webauthn', response: bobKey.assert(bobOptions3) }, { token: bobPending })).status, 200);
    });

    it('a replayed assertion is refused, and the same assertion posted twice at once succeeds exactly once (rule 6)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { key } = await registerKey(server, api, admin.token);
      const pending = await passwordStep(api, admin.email);
      const response = key.assert(await loginOptions(api, pending));
      const answers = await Promise.all([1, 2, 3].map(() => api.post('/login/verify', { method: 'webauthn', response }, { token: pending })));
      assert.equal(answers.filter((a) => a.status === 200).length, 1, answers.map((a) => a.status).join());
      assert.ok(answers.every((a) => a.status < 500));
      const later = await passwordStep(api, admin.email);
      await loginOptions(api, later);
      assert.equal((await api.post('/login/verify', { method: 'webauthn', response }, { token: later })).status, 401, 'replay on a new login');
    });

    it('a non-increasing non-zero counter is refused and logged; a key that always says 0 is accepted (rule 36)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { key } = await registerKey(server, api, admin.token);
      const first = await passwordStep(api, admin.email);
      assert.equal((await api.post('/login/verify', { method: 'webauthn', response: key.assert(await loginOptions(api, first)) }, { token: first })).status, 200);
      const clone = await passwordStep(api, admin.email);
      const cloned = await api.post('/login/verify', { method: 'webauthn', response: key.assert(await loginOptions(api, clone), { counter: key.counter }) }, { token: clone });
      assert.equal(cloned.status, 401);
      assert.ok(server.logLines.some((line) => line.includes('counter_not_increasing')));

      const other = await signUp(api, uniqueEmail('passkey'));
      const passkey = new SoftAuthenticator(server.origin, { counts: false });
      await registerKey(server, api, other.token, passkey, 'Phone');
      for (let i = 0; i < 2; i += 1) {
        const pending = await passwordStep(api, other.email);
        assert.equal((await api.post('/login/verify', { method: 'webauthn', response: passkey.assert(await loginOptions(api, pending)) }, { token: pending })).status, 200);
      }
    });

    it('refuses a credential ID already registered (by another user too), and more than 10 keys', async () => {
      const { api, server } = context();
      const alice = await signUp(api);
      const bob = await signUp(api, uniqueEmail('bob'));
      const { key } = await registerKey(server, api, alice.token);
      const options = await api.post('/me/2fa/webauthn/options', undefined, { token: bob.token });
      const taken = await api.post('/me/2fa/webauthn', { name: 'Stolen', response: key.register(options.body.options) }, { token: bob.token });
      assert.equal(taken.status, 400, taken.text);
      assert.equal(taken.body.error, 'webauthn_refused');
      assert.deepEqual((await api.get('/me', { token: bob.token })).body.twoFactor, { enabled: false, methods: [] }, 'nothing left behind');
      for (let i = 1; i < 10; i += 1) await registerKey(server, api, alice.token, undefined, `Key ${i}`);
      const eleventh = await api.post('/me/2fa/webauthn/options', undefined, { token: alice.token });
      assert.equal(eleventh.status, 400);
      assert.match(eleventh.body.message, /10 security keys/);
    });

    it('refuses a registration for another origin, RP ID or challenge, and a challenge used twice', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      for (const overrides of [{ origin: 'https://evil.example' }, { rpID: 'evil.example' }, { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }]) {
        const options = await api.post('/me/2fa/webauthn/options', undefined, { token: admin.token });
        const refused = await api.post('/me/2fa/webauthn', { name: 'Key', response: new SoftAuthenticator(server.origin).register(options.body.options, overrides) }, { token: admin.token });
        assert.equal(refused.status, 400, refused.text);
      }
      const options = await api.post('/me/2fa/webauthn/options', undefined, { token: admin.token });
      const key = new SoftAuthenticator(server.origin);
      const response = key.register(options.body.options);
      assert.equal((await api.post('/me/2fa/webauthn', { name: 'Key', response }, { token: admin.token })).status, 201);
      const again = await api.post('/me/2fa/webauthn', { name: 'Key', response: new SoftAuthenticator(server.origin).register(options.body.options) }, { token: admin.token });
      assert.equal(again.status, 400);
    });

    it('bad input: names, malformed, oversized and unknown-field responses are 400, never 5xx, one guess at most (rules 33, 34)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { key } = await registerKey(server, api, admin.token);
      const options = await api.post('/me/2fa/webauthn/options', undefined, { token: admin.token });
      const good = new SoftAuthenticator(server.origin).register(options.body.options);
      for (const name of ['', ' ', 'x'.repeat(65), 'bad\u0000name', 'tab\tname', 42]) {
        const refused = await api.post('/me/2fa/webauthn', { name, response: good }, { token: admin.token });
        assert.equal(refused.status, 400, `name ${JSON.stringify(name)}: ${refused.text}`);
      }
      for (const response of [null, 'text', [], {}, { ...good, extra: 1 }, { ...good, response: { ...(good.response as object), clientDataJSON: 'not base64 !' } }, { ...good, rawId: 'other' }]) {
        const refused = await api.post('/me/2fa/webauthn', { name: 'Key', response }, { token: admin.token });
        assert.equal(refused.status, 400, `${JSON.stringify(response).slice(0, 60)}: ${refused.text}`);
      }
      const firstPending = await passwordStep(api, admin.email);
      const right = key.assert(await loginOptions(api, firstPending));
      const bad: unknown[] = [
        { method: 'webauthn', response: 'string' },
        { method: 'webauthn', response: { ...right, extra: true } },
        { method: 'webauthn', response: right, extra: 1 },
        { method: 'webauthn', response: { ...right, response: { ...(right.response as object), signature: 'A'.repeat(20_000) } } },
        { method: 'webauthn', response: { ...right, response: { ...(right.response as object), signature: 12 } } },
        { method: 'webauthn', code: '123456' },
      ];
      for (const body of bad) {
        // A fresh login each time: five wrong answers end a login.
        const pending = await passwordStep(api, admin.email);
        await loginOptions(api, pending);
        const refused = await api.post('/login/verify', body, { token: pending });
        assert.equal(refused.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${refused.text}`);
      }
      const failed = await securityEvents(server, admin.userId, 'second_factor_failed');
      assert.ok(failed.length <= bad.length, 'at most one guess per request');
      const oversized = await api.post('/login/verify', undefined, { token: firstPending, raw: JSON.stringify({ method: 'webauthn', response: { id: 'x'.repeat(70_000) } }) });
      assert.ok(oversized.status >= 400 && oversized.status < 500, oversized.text);
    });

    it('wrong assertions spend the per-user code budget shared with wrong codes (rule 1)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { key } = await registerKey(server, api, admin.token);
      let statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const pending = await passwordStep(api, admin.email);
        for (let j = 0; j < 4; j += 1) {
          const options = await loginOptions(api, pending);
          const wrong = await api.post('/login/verify', { method: 'webauthn', response: key.assert(options, { origin: 'https://evil.example' }) }, { token: pending });
          statuses.push(wrong.status);
        }
      }
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
      assert.equal(statuses[10], 429, statuses.join());
      const pending = await passwordStep(api, admin.email);
      const options = await loginOptions(api, pending);
      const right = await api.post('/login/verify', { method: 'webauthn', response: key.assert(options) }, { token: pending });
      assert.equal(right.status, 429, 'locked: even the right key waits');
      statuses = [];
    });

    it('a key counts as 2FA: TOTP user adds a key, disabling 2FA removes every key', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
      await registerKey(server, api, enrolled.token);
      assert.deepEqual((await api.get('/me', { token: enrolled.token })).body.twoFactor.methods, ['totp', 'webauthn']);
      const disabled = await api.delete('/me/2fa', { password: 'correct horse battery' }, { token: enrolled.token });
      assert.equal(disabled.status, 204, disabled.text);
      const factors = await server.deps.db.selectFrom('factors').select('kind').where('user_id', '=', admin.userId).execute();
      assert.deepEqual(factors, []);
      const rows = await server.deps.db.selectFrom('webauthn_credentials').select('id').where('user_id', '=', admin.userId).execute();
      assert.equal(rows.length, 0);
    });

    it('an assertion re-authenticates; its challenge is not a login challenge, and a wrong one spends the code budget', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { key } = await registerKey(server, api, admin.token);
      server.clock.advance(16 * 60_000);
      assert.equal((await api.post('/me/2fa/recovery-codes', undefined, { token: admin.token })).body.error, 'reauthentication_required');
      const options = (await api.post('/me/reauthenticate/webauthn/options', undefined, { token: admin.token })).body.options;
      const wrong = await api.post('/me/reauthenticate', { response: key.assert(options, { origin: 'https://evil.example' }) }, { token: admin.token });
      assert.equal(wrong.status, 401, wrong.text);
      const failed = await securityEvents(server, admin.userId, 'second_factor_failed');
      assert.equal(JSON.parse(failed.at(-1)!.detail).stage, 'reauthenticate');
      const malformed = await api.post('/me/reauthenticate', { response: { id: 1 } }, { token: admin.token });
      assert.equal(malformed.status, 400, malformed.text);
      const both = await api.post('/me/reauthenticate', { password: 'correct horse battery', response: key.assert(options) }, { token: admin.token });
      assert.equal(both.status, 400);
      const fresh = (await api.post('/me/reauthenticate/webauthn/options', undefined, { token: admin.token })).body.options;
      const right = await api.post('/me/reauthenticate', { response: key.assert(fresh) }, { token: admin.token });
      assert.equal(right.status, 204, right.text);
      assert.equal((await api.post('/me/2fa/recovery-codes', undefined, { token: admin.token })).status, 200);
      // A re-authentication challenge cannot finish a login.
      const pending = await passwordStep(api, admin.email);
      const reauthOptions = (await api.post('/me/reauthenticate/webauthn/options', undefined, { token: admin.token })).body.options;
      await loginOptions(api, pending);
      assert.equal((await api.post('/login/verify', { method: 'webauthn', response: key.assert(reauthOptions) }, { token: pending })).status, 401);
    });

    it("the admin's disable link and the support path remove every key (PRODUCT.md §2.6, §2.7)", async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const adminKey = await registerKey(server, api, admin.token);
      const member = await inviteAndAccept(server, api, admin.token);
      const memberLogin = await logIn(api, member.email);
      await registerKey(server, api, memberLogin.token);
      // Back to a complete session for the admin, with the key.
      const pending = await passwordStep(api, admin.email);
      const adminToken = (await api.post('/login/verify', { method: 'webauthn', response: adminKey.key.assert(await loginOptions(api, pending)) }, { token: pending })).body.token;
      const sent = await api.post(`/account/users/${member.userId}/2fa-disable-link`, undefined, { token: adminToken });
      assert.equal(sent.status, 202, sent.text);
      await waitFor(() => server.outbox.list().some((m) => m.to === member.email && m.body.includes('/2fa/disable/')));
      const used = await api.post(`/2fa/disable-links/${linkFromOutbox(server, member.email, '/2fa/disable/')}`, { password: PASSWORD });
      assert.equal(used.status, 204, used.text);
      const keysOf = async (userId: string) => (await server.deps.db.selectFrom('webauthn_credentials').select('id').where('user_id', '=', userId).execute()).length;
      assert.equal(await keysOf(member.userId), 0);
      assert.deepEqual(await server.deps.db.selectFrom('factors').select('kind').where('user_id', '=', member.userId).execute(), []);

      // What `twofold support disable-2fa` runs.
      const done = await disableTwoFactor(server.deps, { userId: admin.userId, accountId: admin.accountId, email: admin.email, name: 'Admin' }, { kind: 'support', reason: 'Ticket 1: lost key' }, { ip: null, userAgent: 'test' });
      assert.deepEqual(done?.methods, ['webauthn']);
      assert.equal(await keysOf(admin.userId), 0);
    });

    it('registering needs a recent authentication, removing too (rule 36)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
      const { body } = await registerKey(server, api, enrolled.token);
      server.clock.advance(16 * 60_000);
      assert.equal((await api.post('/me/2fa/webauthn/options', undefined, { token: enrolled.token })).body.error, 'reauthentication_required');
      assert.equal((await api.delete(`/me/2fa/webauthn/${body.key.id}`, undefined, { token: enrolled.token })).body.error, 'reauthentication_required');
    });
  },
  { publicHost: 'localhost' },
);

forEachDatabase('security keys with PUBLIC_URL on an IP address', (context) => {
  it('the browser library is served from our own origin (no CDN, CSP script-src self)', async () => {
    const { server } = context();
    const bundle = await fetch(`${server.url}/assets/webauthn/index.umd.min.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
    assert.match(await bundle.text(), /SimpleWebAuthnBrowser/);
    assert.equal((await fetch(`${server.url}/assets/webauthn/index.es5.umd.min.js`)).status, 404);
  });

  it('are not offered, and the server says why', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const refused = await api.post('/me/2fa/webauthn/options', undefined, { token: admin.token });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'webauthn_unavailable');
  });
});

forEachDatabase('security keys and another method removed at once (rules 6, 20)', (context) => {
  it('removing the last key and the app at the same moment leaves exactly one of them: one 204, one 409 last_method', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, user.token);
    const { body } = await registerKey(server, api, enrolled.token);
    const [app, key] = await Promise.all([
      api.delete('/me/2fa/methods/totp', { password: PASSWORD }, { token: enrolled.token }),
      api.delete(`/me/2fa/webauthn/${body.key.id}`, undefined, { token: enrolled.token }),
    ]);
    assert.deepEqual([app.status, key.status].sort(), [204, 409], `${app.text} ${key.text}`);
    const me = await api.get('/me', { token: enrolled.token });
    assert.equal(me.body.twoFactor.enabled, true, 'one method stays on');
    assert.equal(me.body.twoFactor.methods.length, 1);
  });

  it('a first key and a first app confirmed at the same moment hand out one set of recovery codes, and that set works', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const started = await api.post('/me/2fa/totp', undefined, { token: user.token });
    assert.equal(started.status, 201, started.text);
    const options = await api.post('/me/2fa/webauthn/options', undefined, { token: user.token });
    assert.equal(options.status, 200, options.text);
    const key = new SoftAuthenticator(server.origin);
    const [app, registered] = await Promise.all([
      api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token: user.token }),
      api.post('/me/2fa/webauthn', { name: 'YubiKey', response: key.register(options.body.options) }, { token: user.token }),
    ]);
    assert.equal(app.status, 200, app.text);
    assert.equal(registered.status, 201, registered.text);
    const sets = [app.body.recoveryCodes, registered.body.recoveryCodes].filter((codes) => codes !== undefined);
    assert.equal(sets.length, 1, 'only the method that really came first turns 2FA on and issues codes');
    const pending = await passwordStep(api, user.email);
    const recovered = await api.post('/login/verify', { method: 'recovery', code: sets[0][0] }, { token: pending });
    assert.equal(recovered.status, 200, `the codes shown are the ones stored: ${recovered.text}`);
  });
}, { publicHost: 'localhost' });
