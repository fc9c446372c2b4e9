/**
 * The allowed-methods policy (PRODUCT.md §2.9 last paragraph, §3 /account/policy; SECURITY.md
 * rule 37), on SQLite and PostgreSQL: defaults, who may change it, the count of users a change
 * affects, users whose every method is disallowed sent to setup (sessions already held too),
 * and codes refused at login when a phishing-resistant method is required.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import type { APIClient } from '../helpers/http.ts';
import type { TestServer } from '../helpers/server.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode, passwordStep, securityEvents } from '../helpers/two-factor.ts';

async function registerKey(server: TestServer, api: APIClient, token: string) {
  const key = new SoftAuthenticator(server.origin);
  const options = await api.post('/me/2fa/webauthn/options', undefined, { token });
  assert.equal(options.status, 200, options.text);
  const registered = await api.post('/me/2fa/webauthn', { name: 'Key', response: key.register(options.body.options) }, { token });
  assert.equal(registered.status, 201, registered.text);
  return { key, token: (registered.body.token as string | undefined) ?? token };
}

forEachDatabase(
  'allowed-methods policy',
  (context) => {
    it('defaults to every method; bad bodies are 400; only a recent admin with a key may require phishing resistance', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const policy = await api.get('/account/policy', { token: admin.token });
      assert.deepEqual(policy.body, { allowedMethods: ['totp', 'sms', 'webauthn'], requirePhishingResistant: false, affectedUsers: 0, enforceFrom: null, enforceFor: 'everyone', usersWithoutTwoFactor: 1, trustedBrowserDays: 30 });
      for (const body of [{ allowedMethods: [] }, { allowedMethods: ['bogus'] }, { enforceFrom: '2027-13-01' }, { requirePhishingResistant: 'yes' }, { allowedMethods: ['totp', 'totp'] }]) {
        const refused = await api.patch('/account/policy', body, { token: admin.token });
        assert.equal(refused.status, 400, `${JSON.stringify(body)}: ${refused.text}`);
      }
      const noKey = await api.patch('/account/policy', { requirePhishingResistant: true }, { token: admin.token });
      assert.equal(noKey.status, 409);
      assert.equal(noKey.body.error, 'admin_2fa_required');
      const member = await inviteAndAccept(server, api, admin.token);
      const memberLogin = await logIn(api, member.email);
      assert.equal((await api.patch('/account/policy', { allowedMethods: ['totp'] }, { token: memberLogin.token })).status, 403, 'administrators only');
      const { token } = await registerKey(server, api, admin.token);
      server.clock.advance(16 * 60_000);
      assert.equal((await api.patch('/account/policy', { requirePhishingResistant: true }, { token })).body.error, 'reauthentication_required');
      assert.equal((await api.get('/account/policy', { token: admin.token })).body.requirePhishingResistant, false, 'unchanged');
    });

    it('says how many users a change affects before saving; saved, it sends them to setup on their next request, with only allowed methods (rule 37)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const adminKey = await registerKey(server, api, admin.token);
      const member = await inviteAndAccept(server, api, adminKey.token);
      const memberLogin = await logIn(api, member.email);
      const app = await enrollAuthenticatorApp(server, api, memberLogin.token);
      assert.equal((await api.get('/me', { token: app.token })).status, 200);

      const preview = await api.patch('/account/policy', { requirePhishingResistant: true, dryRun: true }, { token: adminKey.token });
      assert.equal(preview.status, 200, preview.text);
      assert.equal(preview.body.affectedUsers, 1);
      assert.equal((await api.get('/account/policy', { token: adminKey.token })).body.requirePhishingResistant, false, 'a dry run saves nothing');

      const saved = await api.patch('/account/policy', { requirePhishingResistant: true }, { token: adminKey.token });
      assert.equal(saved.status, 200, saved.text);
      assert.deepEqual(saved.body, { allowedMethods: ['totp', 'sms', 'webauthn'], requirePhishingResistant: true, affectedUsers: 1, enforceFrom: null, enforceFor: 'everyone', usersWithoutTwoFactor: 1, trustedBrowserDays: 30 });
      const changed = await server.deps.db.selectFrom('security_events').select('detail').where('account_id', '=', admin.accountId).where('type', '=', 'policy_changed').execute();
      assert.equal(changed.length, 1);

      // The session the member already holds is sent to setup on its next request.
      const me = await api.get('/me', { token: app.token });
      assert.equal(me.status, 403);
      assert.equal(me.body.error, 'enrollment_required');
      // So is a new login; the app cannot be set up again, a key can, and completes the login.
      const login = await api.post('/login', { email: member.email, password: 'correct horse battery' });
      assert.equal(login.body.state, 'enrollment_required');
      assert.equal((await api.post('/me/2fa/totp', undefined, { token: login.body.token })).body.error, 'method_disallowed');
      const withKey = await registerKey(server, api, login.body.token);
      assert.ok(withKey.token !== login.body.token, 'the key completed the login');
      assert.equal((await api.get('/me', { token: withKey.token })).status, 200);
    });

    it('with a phishing-resistant method required, app codes are refused at login and recovery codes still work (rule 37)', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const app = await enrollAuthenticatorApp(server, api, admin.token);
      const { key, token } = await registerKey(server, api, app.token);
      assert.equal((await api.patch('/account/policy', { requirePhishingResistant: true }, { token })).status, 200);

      const login = await api.post('/login', { email: admin.email, password: 'correct horse battery' });
      assert.deepEqual(login.body.methods, ['webauthn']);
      const refused = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, app.secret) }, { token: login.body.token });
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.body.error, 'method_disallowed');
      assert.equal((await securityEvents(server, admin.userId, 'second_factor_failed')).length, 0, 'refused before anything is charged');
      const recovery = await api.post('/login/verify', { method: 'recovery', code: app.recoveryCodes[0] }, { token: login.body.token });
      assert.equal(recovery.status, 200, 'recovery codes stay the way back');

      const pending = await passwordStep(api, admin.email);
      const options = await api.post('/login/webauthn/options', undefined, { token: pending });
      assert.equal((await api.post('/login/verify', { method: 'webauthn', response: key.assert(options.body.options) }, { token: pending })).status, 200);

      // Back to every method: the app works again.
      const fresh = await passwordStep(api, admin.email);
      const keyOptions = await api.post('/login/webauthn/options', undefined, { token: fresh });
      const keyLogin = await api.post('/login/verify', { method: 'webauthn', response: key.assert(keyOptions.body.options) }, { token: fresh });
      assert.equal((await api.patch('/account/policy', { requirePhishingResistant: false, allowedMethods: ['totp'] }, { token: keyLogin.body.token })).status, 200);
      const again = await passwordStep(api, admin.email);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, app.secret) }, { token: again })).status, 200);
    });
  },
  { publicHost: 'localhost' },
);
