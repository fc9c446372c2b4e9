/**
 * SECURITY.md section B — replay and races (rules 5–7). Replays are sent over real HTTP after
 * the first use; races are bursts of concurrent requests (Promise.all), on SQLite and on
 * PostgreSQL, and across two server instances on one database.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkFromOutbox, signUp, uniqueEmail, waitFor } from '../../helpers/fixtures.ts';
import { apiClient, type APIResponse } from '../../helpers/http.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { currentCode, nextStepCode, oathtoolCode, passwordStep } from '../../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, otherCode, textsTo, uniqueMobile } from '../../helpers/sms.ts';
import { secondFactorGuesses, startSecondInstance, userWithApp } from './helpers.ts';

const STEP_MS = 30_000;
const HOUR = 3_600_000;

function statuses(responses: APIResponse[]): string {
  return responses.map((r) => r.status).join(',');
}

function winners(responses: APIResponse[]): APIResponse[] {
  return responses.filter((r) => r.status >= 200 && r.status < 300);
}

forEachDatabase('B. replay and races', (context) => {
  describe('rule 5: a TOTP time step is accepted at most once per factor, and never a step at or before the last accepted one', () => {
    it('refuses the same code for a second login within its time step', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const code = nextStepCode(server, user.secret);
      assert.equal((await api.post('/login/verify', { method: 'totp', code }, { token: await passwordStep(api, user.email) })).status, 200);
      const replay = await api.post('/login/verify', { method: 'totp', code }, { token: await passwordStep(api, user.email) });
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error, 'invalid_code');
      assert.equal((await api.post('/me/reauthenticate', { code }, { token: user.token })).status, 401, 'nor for re-authentication');
    });

    it('refuses the code that confirmed the enrollment for a login within its step', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      const code = currentCode(server, started.body.secret);
      assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code }, { token: admin.token })).status, 200);
      const pending = await passwordStep(api, admin.email);
      const replay = await api.post('/login/verify', { method: 'totp', code }, { token: pending });
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error, 'invalid_code');
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, started.body.secret) }, { token: pending })).status, 200, 'the next step is fine');
    });

    it('refuses an older step, still inside the drift window, once a later step was accepted', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      server.clock.advance(2 * STEP_MS);
      const now = server.clock.now();
      // The app runs one step ahead: its code for the next step is accepted (drift ±1)…
      const ahead = await api.post('/login/verify', { method: 'totp', code: oathtoolCode(user.secret, now + STEP_MS) }, { token: await passwordStep(api, user.email) });
      assert.equal(ahead.status, 200, ahead.text);
      // …after which the current and previous steps, though inside the window, are history.
      for (const delta of [0, -1]) {
        const older = oathtoolCode(user.secret, now + delta * STEP_MS);
        if (older === oathtoolCode(user.secret, now + STEP_MS)) continue;
        const refused = await api.post('/login/verify', { method: 'totp', code: older }, { token: await passwordStep(api, user.email) });
        assert.equal(refused.status, 401, `step ${delta}`);
      }
    });
  });

  describe('rule 6: every single-use thing is consumed by one atomic conditional write — concurrent submissions yield exactly one success', () => {
    it('lets one TOTP code finish exactly one login when 40 submissions race on one challenge', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pending = await passwordStep(api, user.email);
      const code = nextStepCode(server, user.secret);
      const burst = await Promise.all(Array.from({ length: 40 }, () => api.post('/login/verify', { method: 'totp', code }, { token: pending })));
      assert.equal(winners(burst).length, 1, statuses(burst));
      assert.ok(burst.every((r) => [200, 401, 429].includes(r.status)), statuses(burst));
    });

    it('lets one TOTP time step finish exactly one of ten logins racing on two instances of one database', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const second = await startSecondInstance(server);
      try {
        const secondAPI = apiClient(second.url);
        const pendings = await Promise.all(Array.from({ length: 10 }, (_, i) => passwordStep(i % 2 === 0 ? api : secondAPI, user.email)));
        server.clock.advance(STEP_MS);
        second.clock.set(server.clock.now());
        const code = currentCode(server, user.secret);
        const burst = await Promise.all(pendings.map((token, i) => (i % 2 === 0 ? api : secondAPI).post('/login/verify', { method: 'totp', code }, { token })));
        assert.equal(winners(burst).length, 1, statuses(burst));
      } finally {
        await second.close();
      }
    });

    it('lets one texted code finish exactly one login when 30 submissions race', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone } = await enrollSMS(server, api, admin.token);
      const pending = await passwordStep(api, admin.email);
      const code = latestSMSCode(server, phone);
      const burst = await Promise.all(Array.from({ length: 30 }, () => api.post('/login/verify', { method: 'sms', code }, { token: pending })));
      assert.equal(winners(burst).length, 1, statuses(burst));
    });

    it('lets one texted enrollment code turn SMS on exactly once when 30 confirmations race', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const phone = uniqueMobile();
      assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 202);
      const code = latestSMSCode(server, phone);
      const burst = await Promise.all(Array.from({ length: 30 }, () => api.post('/me/2fa/sms/confirm', { code }, { token: admin.token })));
      assert.equal(winners(burst).length, 1, statuses(burst));
      assert.equal((await server.deps.db.selectFrom('factors').select('id').where('user_id', '=', admin.userId).execute()).length, 1);
    });

    it('lets one recovery code finish exactly one of eight logins racing for it', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pendings = await Promise.all(Array.from({ length: 8 }, () => passwordStep(api, user.email)));
      const code = user.recoveryCodes[0]!;
      const burst = await Promise.all(pendings.map((token) => api.post('/login/verify', { method: 'recovery', code }, { token })));
      assert.equal(winners(burst).length, 1, statuses(burst));
      const left = await server.deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', user.userId).where('used_at', 'is', null).execute();
      assert.equal(left.length, 9, 'exactly one code was used up');
    });

    it('lets one challenge mint exactly one session when different right answers (app codes and recovery codes) race on it', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pending = await passwordStep(api, user.email);
      const code = nextStepCode(server, user.secret);
      const burst = await Promise.all([
        ...Array.from({ length: 5 }, () => api.post('/login/verify', { method: 'totp', code }, { token: pending })),
        ...user.recoveryCodes.slice(0, 5).map((recovery) => api.post('/login/verify', { method: 'recovery', code: recovery }, { token: pending })),
      ]);
      assert.equal(winners(burst).length, 1, statuses(burst));
      const sessions = await server.deps.db.selectFrom('sessions').select('state').where('user_id', '=', user.userId).where('state', '=', 'complete').execute();
      assert.equal(sessions.length, 2, 'the enrolling session and exactly one new one');
    });

    it('accepts a password-reset link exactly once when 30 submissions race, across two instances', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      await api.post('/password/forgot', { email: admin.email });
      await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
      const token = linkFromOutbox(server, admin.email, '/password/reset/');
      const second = await startSecondInstance(server);
      try {
        const secondAPI = apiClient(second.url);
        const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? api : secondAPI).post('/password/reset', { token, password: `new password number ${i}` })));
        assert.equal(winners(burst).length, 1, statuses(burst));
        assert.ok(burst.every((r) => r.status === 204 || (r.status === 410 && r.body.error === 'link_expired')), statuses(burst));
      } finally {
        await second.close();
      }
    });

    it('accepts an invitation exactly once when 30 submissions race', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const email = uniqueEmail('invitee');
      assert.equal((await api.post('/account/users', { email, name: 'Ivy', role: 'user' }, { token: admin.token })).status, 201);
      await waitFor(() => server.outbox.list().some((m) => m.to === email));
      const token = linkFromOutbox(server, email, '/invitations/');
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => api.post(`/invitations/${token}`, { password: `chosen password ${i}` })));
      assert.equal(winners(burst).length, 1, statuses(burst));
    });
  });

  describe('rule 7: an SMS code is bound to its challenge and user; a resend voids the previous code and resets no failure count', () => {
    it('refuses a texted code on another login of the same user', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone } = await enrollSMS(server, api, admin.token);
      const first = await passwordStep(api, admin.email);
      const firstCode = latestSMSCode(server, phone);
      const second = await passwordStep(api, admin.email);
      if (firstCode !== latestSMSCode(server, phone)) {
        assert.equal((await api.post('/login/verify', { method: 'sms', code: firstCode }, { token: second })).status, 401);
      }
      assert.equal((await api.post('/login/verify', { method: 'sms', code: firstCode }, { token: first })).status, 200, 'it still works where it belongs');
    });

    it('refuses a code texted to one user on another user\'s login', async () => {
      const { api, server } = context();
      const alice = await signUp(api);
      const bob = await signUp(api);
      const alicePhone = (await enrollSMS(server, api, alice.token)).phone;
      const bobPhone = (await enrollSMS(server, api, bob.token)).phone;
      const alicePending = await passwordStep(api, alice.email);
      const bobPending = await passwordStep(api, bob.email);
      const aliceCode = latestSMSCode(server, alicePhone);
      if (aliceCode !== latestSMSCode(server, bobPhone)) {
        const stolen = await api.post('/login/verify', { method: 'sms', code: aliceCode }, { token: bobPending });
        assert.equal(stolen.status, 401);
        assert.equal(stolen.body.error, 'invalid_code');
      }
      assert.equal((await api.post('/login/verify', { method: 'sms', code: aliceCode }, { token: alicePending })).status, 200);
    });

    it('refuses a code texted for an enrollment (a phone change) at the login', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone, token } = await enrollSMS(server, api, admin.token);
      const newPhone = uniqueMobile();
      assert.equal((await api.post('/me/2fa/sms', { phone: newPhone }, { token })).status, 202);
      const enrollmentCode = latestSMSCode(server, newPhone);
      const pending = await passwordStep(api, admin.email);
      if (enrollmentCode !== latestSMSCode(server, phone)) {
        assert.equal((await api.post('/login/verify', { method: 'sms', code: enrollmentCode }, { token: pending })).status, 401);
      }
      assert.equal(textsTo(server, phone).length, 2, 'the login code went to the confirmed number, not the pending one');
    });

    it('voids the previous login code when another is texted', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone } = await enrollSMS(server, api, admin.token);
      const pending = await passwordStep(api, admin.email);
      const first = latestSMSCode(server, phone);
      server.clock.advance(server.config.policy.smsResendCooldownMs);
      assert.equal((await api.post('/login/sms', undefined, { token: pending })).status, 202);
      const second = latestSMSCode(server, phone);
      if (first !== second) assert.equal((await api.post('/login/verify', { method: 'sms', code: first }, { token: pending })).status, 401);
      assert.equal((await api.post('/login/verify', { method: 'sms', code: second }, { token: pending })).status, 200);
    });

    it('voids the previous enrollment code when another is texted', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const phone = uniqueMobile();
      await api.post('/me/2fa/sms', { phone }, { token: admin.token });
      const first = latestSMSCode(server, phone);
      server.clock.advance(server.config.policy.smsResendCooldownMs);
      assert.equal((await api.post('/me/2fa/sms', { phone: phone.replace('+44', '+44 ') }, { token: admin.token })).status, 202);
      const second = latestSMSCode(server, phone);
      if (first !== second) assert.equal((await api.post('/me/2fa/sms/confirm', { code: first }, { token: admin.token })).status, 401);
      assert.equal((await api.post('/me/2fa/sms/confirm', { code: second }, { token: admin.token })).status, 200);
    });

    it('keeps the login\'s tries and the user\'s budget across a resend: five wrong codes still end the login', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone } = await enrollSMS(server, api, admin.token);
      const pending = await passwordStep(api, admin.email);
      for (let i = 0; i < 3; i += 1) assert.equal((await api.post('/login/verify', { method: 'sms', code: otherCode(latestSMSCode(server, phone)) }, { token: pending })).status, 401);
      assert.equal(await secondFactorGuesses(server, admin.userId), 3);
      server.clock.advance(server.config.policy.smsResendCooldownMs);
      assert.equal((await api.post('/login/sms', undefined, { token: pending })).status, 202);
      assert.equal(await secondFactorGuesses(server, admin.userId), 3, 'the resend gave no guesses back');
      const code = latestSMSCode(server, phone);
      for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/login/verify', { method: 'sms', code: otherCode(code) }, { token: pending })).status, 401);
      assert.equal((await api.post('/login/verify', { method: 'sms', code }, { token: pending })).status, 401, 'the fifth wrong code ended the login');
    });

    it('keeps an enrollment code\'s tries across a resend', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const phone = uniqueMobile();
      await api.post('/me/2fa/sms', { phone }, { token: admin.token });
      for (let i = 0; i < 3; i += 1) assert.equal((await api.post('/me/2fa/sms/confirm', { code: otherCode(latestSMSCode(server, phone)) }, { token: admin.token })).status, 401);
      server.clock.advance(server.config.policy.smsResendCooldownMs);
      assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 202);
      const code = latestSMSCode(server, phone);
      for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/me/2fa/sms/confirm', { code: otherCode(code) }, { token: admin.token })).status, 401);
      assert.equal((await api.post('/me/2fa/sms/confirm', { code }, { token: admin.token })).status, 401, 'five tries in all, resend or not');
      server.clock.advance(HOUR);
    });
  });
}, { env: { SMS_PER_IP_PER_HOUR: '1000000' } });
