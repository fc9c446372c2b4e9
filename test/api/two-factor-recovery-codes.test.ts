/**
 * Recovery codes and re-authentication (PRODUCT.md §2.7, §3, §4; SECURITY.md rules 6, 16, 28):
 * single use even under concurrency, forgiving about case and hyphens, regenerated only by a
 * recently authenticated session, and the old set void afterwards.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode, passwordStep, securityEvents, wrongCode } from '../helpers/two-factor.ts';

forEachDatabase('recovery codes and re-authentication', (context) => {
  it('logs in with a recovery code in any case, with or without the hyphen and spaces, each once', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { recoveryCodes } = await enrollAuthenticatorApp(server, api, admin.token);
    const spellings = [recoveryCodes[0]!.toUpperCase(), recoveryCodes[1]!.replace('-', ''), ` ${recoveryCodes[2]!.slice(0, 5)} ${recoveryCodes[2]!.slice(6)} `];
    for (const code of spellings) {
      const verified = await api.post('/login/verify', { method: 'recovery', code }, { token: await passwordStep(api, admin.email) });
      assert.equal(verified.status, 200, `${code}: ${verified.text}`);
    }
    const reused = await api.post('/login/verify', { method: 'recovery', code: recoveryCodes[0] }, { token: await passwordStep(api, admin.email) });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error, 'invalid_code');
    const used = await securityEvents(server, admin.userId, 'recovery_code_used');
    assert.equal(used.length, 3);
    assert.equal(JSON.parse(used.at(-1)!.detail).remaining, 7);
    await waitFor(() => server.outbox.list().filter((m) => m.to === admin.email && /recovery code was used/i.test(m.subject ?? '')).length === 3);
    for (const message of server.outbox.list().filter((m) => m.to === admin.email)) {
      for (const code of recoveryCodes) assert.ok(!message.body.includes(code), 'no recovery code in any e-mail');
    }
  });

  it('lets a recovery code finish exactly one of many concurrent logins', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { recoveryCodes } = await enrollAuthenticatorApp(server, api, admin.token);
    const pendings = await Promise.all(Array.from({ length: 8 }, () => passwordStep(api, admin.email)));
    const burst = await Promise.all(pendings.map((token) => api.post('/login/verify', { method: 'recovery', code: recoveryCodes[4] }, { token })));
    assert.equal(burst.filter((r) => r.status === 200).length, 1, burst.map((r) => r.status).join(','));
    assert.equal((await securityEvents(server, admin.userId, 'recovery_code_used')).length, 1);
  });

  it('refuses something that cannot be a recovery code with 400, counted as a guess', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await enrollAuthenticatorApp(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    for (const code of ['abcde-fghi1', 'abc', 12345]) {
      const response = await api.post('/login/verify', { method: 'recovery', code }, { token: pending });
      assert.equal(response.status, 400, `${JSON.stringify(code)}: ${response.text}`);
    }
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_failed')).length, 3);
  });

  it('regenerates recovery codes only within fifteen minutes of authenticating, voiding the old set', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { recoveryCodes: oldCodes, secret } = await enrollAuthenticatorApp(server, api, admin.token);
    server.clock.advance(15 * 60_000);
    const stale = await api.post('/me/2fa/recovery-codes', undefined, { token: admin.token });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.error, 'reauthentication_required');

    const wrongPassword = await api.post('/me/reauthenticate', { password: 'not the password' }, { token: admin.token });
    assert.equal(wrongPassword.status, 401);
    assert.equal(wrongPassword.body.error, 'invalid_credentials');
    assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token: admin.token })).status, 204);
    const regenerated = await api.post('/me/2fa/recovery-codes', undefined, { token: admin.token });
    assert.equal(regenerated.status, 200, regenerated.text);
    assert.equal(regenerated.headers.get('cache-control'), 'no-store');
    const newCodes: string[] = regenerated.body.recoveryCodes;
    assert.equal(newCodes.length, 10);
    assert.equal(newCodes.filter((code) => oldCodes.includes(code)).length, 0);
    assert.equal((await securityEvents(server, admin.userId, 'recovery_codes_regenerated')).length, 1);

    const old = await api.post('/login/verify', { method: 'recovery', code: oldCodes[0] }, { token: await passwordStep(api, admin.email) });
    assert.equal(old.status, 401, 'the old set is void');
    const fresh = await api.post('/login/verify', { method: 'recovery', code: newCodes[0] }, { token: await passwordStep(api, admin.email) });
    assert.equal(fresh.status, 200);

    // A current app code re-authenticates too; a wrong one does not.
    server.clock.advance(16 * 60_000);
    assert.equal((await api.post('/me/reauthenticate', { code: wrongCode(server, secret) }, { token: fresh.body.token })).status, 401);
    assert.equal((await api.post('/me/2fa/recovery-codes', undefined, { token: fresh.body.token })).status, 403);
    assert.equal((await api.post('/me/reauthenticate', { code: nextStepCode(server, secret) }, { token: fresh.body.token })).status, 204);
    assert.equal((await api.post('/me/2fa/recovery-codes', undefined, { token: fresh.body.token })).status, 200);
  });

  it('answers 400 to a re-authentication with both, neither or a malformed code', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await enrollAuthenticatorApp(server, api, admin.token);
    assert.equal((await api.post('/me/reauthenticate', {}, { token: admin.token })).status, 400);
    assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD, code: '123456' }, { token: admin.token })).status, 400);
    assert.equal((await api.post('/me/reauthenticate', { code: 123456 }, { token: admin.token })).status, 400);
    assert.equal((await api.post('/me/reauthenticate', { code: '12345' }, { token: admin.token })).status, 400);
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_failed')).length, 2, 'malformed codes count as guesses');
  });
});
