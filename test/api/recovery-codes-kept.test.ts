/**
 * Recovery codes belong to the user, not to a method (issue 13; PRODUCT.md §2.7; SECURITY.md
 * rule 16): after app enrolment the user saved ten codes; adding SMS used to answer a new set and
 * silently void the saved one. Adding a second method now keeps the codes — the answer carries no
 * `recoveryCodes` (the field is there only when a factor turns 2FA on, as for WebAuthn in §3) —
 * and regenerating stays an explicit action.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { latestSMSCode, uniqueMobile } from '../helpers/sms.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, passwordStep } from '../helpers/two-factor.ts';

forEachDatabase('adding a second method keeps the recovery codes', (context) => {
  it('keeps the codes saved at app enrolment working after SMS is added, and answers no new set', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const app = await enrollAuthenticatorApp(server, api, admin.token);
    assert.equal(app.recoveryCodes.length, 10, 'the first method issues the set');

    const phone = uniqueMobile();
    assert.equal((await api.post('/me/2fa/sms', { phone }, { token: app.token })).status, 202);
    const confirmed = await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, phone) }, { token: app.token });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.body.recoveryCodes, undefined, 'no new set: the saved one stays');

    const login = await api.post('/login/verify', { method: 'recovery', code: app.recoveryCodes[0] }, { token: await passwordStep(api, admin.email) });
    assert.equal(login.status, 200, 'a code saved before SMS was added still logs in');
    const unused = await server.deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', admin.userId).where('used_at', 'is', null).execute();
    assert.equal(unused.length, 9);
  });

  it('keeps the codes saved at SMS enrolment when the app is added second', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 202);
    const sms = await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, phone) }, { token: admin.token });
    assert.equal(sms.body.recoveryCodes.length, 10);
    const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    const app = await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token: admin.token });
    assert.equal(app.status, 200, app.text);
    assert.equal(app.body.recoveryCodes, undefined);
    const login = await api.post('/login/verify', { method: 'recovery', code: sms.body.recoveryCodes[3] }, { token: await passwordStep(api, admin.email) });
    assert.equal(login.status, 200);
  });

  it('still replaces the set when the user regenerates it, and when 2FA is turned on again after being off', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const first = await enrollAuthenticatorApp(server, api, admin.token);
    const regenerated = await api.post('/me/2fa/recovery-codes', undefined, { token: first.token });
    assert.equal(regenerated.status, 200, regenerated.text);
    assert.equal(regenerated.body.recoveryCodes.length, 10);
    assert.equal((await api.post('/login/verify', { method: 'recovery', code: first.recoveryCodes[0] }, { token: await passwordStep(api, admin.email) })).status, 401, 'regenerating voids the old set');

    assert.equal((await api.delete('/me/2fa', { password: PASSWORD }, { token: first.token })).status, 204);
    const again = await api.post('/login', { email: admin.email, password: PASSWORD });
    const second = await enrollAuthenticatorApp(server, api, again.body.token);
    assert.equal(second.recoveryCodes.length, 10, 'turning 2FA on again issues a set');
  });
});
