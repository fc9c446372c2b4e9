/**
 * Guessing limits on second-factor codes (PRODUCT.md §4; SECURITY.md rules 1, 3, 4): five
 * wrong codes end a login, ten per user in fifteen minutes pause codes for fifteen minutes,
 * counted before the check so that concurrent bursts evaluate no more than the budget.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, passwordStep, securityEvents, wrongCode } from '../helpers/two-factor.ts';

const FIFTEEN_MINUTES = 15 * 60_000;

forEachDatabase('second-factor attempt limits', (context) => {
  it('ends the login after five wrong codes: even the right code is refused on that session', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    for (let i = 0; i < 5; i += 1) {
      const wrong = await api.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) }, { token: pending });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_code');
    }
    const right = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: pending });
    assert.equal(right.status, 401);
    assert.equal(right.body.error, 'unauthenticated');
    // A new password step starts a new login with the same code still unused.
    const fresh = await passwordStep(api, admin.email);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: currentCode(server, secret) }, { token: fresh })).status, 200);
  });

  it('evaluates at most five codes of one login when fifty wrong guesses arrive at once', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    const code = wrongCode(server, secret);
    const burst = await Promise.all(Array.from({ length: 50 }, () => api.post('/login/verify', { method: 'totp', code }, { token: pending })));
    assert.ok(burst.every((r) => r.status === 401 || r.status === 429), burst.map((r) => r.status).join(','));
    assert.equal(burst.filter((r) => r.body?.error === 'invalid_code').length, 5);
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_failed')).length, 5);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: pending })).status, 401);
  });

  it('locks second-factor codes for fifteen minutes after ten wrong ones across logins, and e-mails the user once', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    for (let login = 0; login < 2; login += 1) {
      const pending = await passwordStep(api, admin.email);
      for (let i = 0; i < 5; i += 1) assert.equal((await api.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) }, { token: pending })).status, 401);
    }
    const pending = await passwordStep(api, admin.email);
    const locked = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: pending, headers: { 'user-agent': 'lock-test-agent' } });
    assert.equal(locked.status, 429, 'refused even with the right code');
    assert.equal(locked.body.error, 'too_many_attempts');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_locked')).length, 1);
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && /paused/i.test(m.subject ?? '')));
    const notice = server.outbox.list().find((m) => m.to === admin.email && /paused/i.test(m.subject ?? ''))!;
    assert.match(notice.body, /IP address: 127\.0\.0\.1/);
    assert.ok(!/\b\d{6}\b/.test(notice.body), 'no code in the notice');

    // The password step is a separate budget: it still answers, and the lock ends by itself.
    server.clock.advance(FIFTEEN_MINUTES);
    const after = await passwordStep(api, admin.email);
    const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: after });
    assert.equal(verified.status, 200, verified.text);
  });

  it('evaluates at most ten codes per user when bursts of wrong guesses hit several logins at once', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const pendings = await Promise.all(Array.from({ length: 4 }, () => passwordStep(api, admin.email)));
    const code = wrongCode(server, secret);
    const burst = await Promise.all(pendings.flatMap((token) => Array.from({ length: 15 }, () => api.post('/login/verify', { method: 'totp', code }, { token }))));
    assert.ok(burst.every((r) => r.status === 401 || r.status === 429), burst.map((r) => r.status).join(','));
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_failed')).length, 10);
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_locked')).length, 1);
    const fresh = await passwordStep(api, admin.email);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: fresh })).status, 429);
    server.clock.advance(FIFTEEN_MINUTES);
  });

  it('resets the wrong-code count after a right code', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const first = await passwordStep(api, admin.email);
    for (let i = 0; i < 4; i += 1) await api.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) }, { token: first });
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: first })).status, 200);
    // Nine more wrong codes would be thirteen without the reset.
    const second = await passwordStep(api, admin.email);
    for (let i = 0; i < 5; i += 1) await api.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) }, { token: second });
    const third = await passwordStep(api, admin.email);
    for (let i = 0; i < 4; i += 1) assert.equal((await api.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) }, { token: third })).status, 401);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: third })).status, 200);
  });

  it('keeps the second-factor budget apart from the password budget in both directions', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    // Someone hammers the password form: the email is locked for passwords…
    for (let i = 0; i < 10; i += 1) await api.post('/login', { email: admin.email, password: 'wrong password' });
    assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 429);
    // …but the user who already passed the password step can still finish.
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: pending })).status, 200);
    server.clock.advance(FIFTEEN_MINUTES);
  });

  it('charges wrong re-authentication codes to the same per-user budget as the login', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    for (let i = 0; i < 6; i += 1) {
      const wrong = await api.post('/me/reauthenticate', { code: wrongCode(server, secret) }, { token: admin.token });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_code');
    }
    const pending = await passwordStep(api, admin.email);
    for (let i = 0; i < 4; i += 1) assert.equal((await api.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) }, { token: pending })).status, 401);
    const locked = await api.post('/me/reauthenticate', { code: nextStepCode(server, secret) }, { token: admin.token });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    server.clock.advance(FIFTEEN_MINUTES);
  });
});
