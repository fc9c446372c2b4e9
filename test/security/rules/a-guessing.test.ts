/**
 * SECURITY.md section A — guessing (rules 1–4). Every attack goes over real HTTP against a real
 * server and database; the outcome is read from the answers, the security log, the counters
 * table and the outbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, signUp, uniqueEmail, waitFor } from '../../helpers/fixtures.ts';
import { apiClient } from '../../helpers/http.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { currentCode, nextStepCode, passwordStep, securityEvents, wrongCode } from '../../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, otherCode } from '../../helpers/sms.ts';
import { mailsTo, rawRequest, secondFactorGuesses, startSecondInstance, userWithApp } from './helpers.ts';

const MINUTE = 60_000;
const LOCK_MS = 15 * MINUTE;
/** A well-formed recovery code (ten base32 characters) that no user holds. */
const WRONG_RECOVERY_CODE = 'zzzzz-zzzzz';

async function failedCount(server: TestServer, userId: string): Promise<number> {
  return (await securityEvents(server, userId, 'second_factor_failed')).length;
}

forEachDatabase('A. guessing — rule 1 (shared second-factor budget)', (context) => {
  describe('rule 1: second-factor failures are counted per user, server-side, shared by every entry point, across instances and restarts, before the code is checked', () => {
    it('spends one budget across login TOTP, login SMS, recovery code, disable confirmation and re-authentication: the 11th attempt is refused even with the right code', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const sms = await enrollSMS(server, api, user.token);
      const token = sms.token;

      // Two wrong codes through each of the five entry points: ten in all.
      const byApp = await passwordStep(api, user.email);
      for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/login/verify', { method: 'totp', code: wrongCode(server, user.secret) }, { token: byApp })).status, 401);
      const bySMS = await passwordStep(api, user.email);
      assert.equal((await api.post('/login/sms', undefined, { token: bySMS })).status, 202);
      const texted = latestSMSCode(server, sms.phone);
      for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/login/verify', { method: 'sms', code: otherCode(texted) }, { token: bySMS })).status, 401);
      const byRecovery = await passwordStep(api, user.email);
      for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/login/verify', { method: 'recovery', code: WRONG_RECOVERY_CODE }, { token: byRecovery })).status, 401);
      for (let i = 0; i < 2; i += 1) assert.equal((await api.delete('/me/2fa', { code: wrongCode(server, user.secret) }, { token })).status, 401);
      for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/me/reauthenticate', { code: wrongCode(server, user.secret) }, { token })).status, 401);
      assert.equal(await failedCount(server, user.userId), 10);
      assert.equal((await securityEvents(server, user.userId, 'second_factor_locked')).length, 1, 'the tenth wrong code, whatever its entry point, locks');

      // Every entry point now refuses, the right code included.
      const right = nextStepCode(server, user.secret);
      const login = await api.post('/login/verify', { method: 'totp', code: right }, { token: await passwordStep(api, user.email) });
      assert.equal(login.status, 429);
      assert.equal(login.body.error, 'too_many_attempts');
      assert.equal((await api.post('/login/verify', { method: 'sms', code: texted }, { token: bySMS })).status, 429);
      // The codes saved at app enrolment: adding SMS kept them (issue 13).
      assert.equal((await api.post('/login/verify', { method: 'recovery', code: user.recoveryCodes[0] }, { token: byRecovery })).status, 429);
      assert.equal((await api.post('/me/reauthenticate', { code: right }, { token })).status, 429);
      assert.equal((await api.delete('/me/2fa', { code: right }, { token })).status, 429);
      assert.equal(await failedCount(server, user.userId), 10, 'refused attempts are not evaluated');
      server.clock.advance(LOCK_MS);
    });

    it('evaluates at most the budget when a burst of 40 wrong codes hits four logins, re-authentication and disabling at once', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pendings = await Promise.all(Array.from({ length: 4 }, () => passwordStep(api, user.email)));
      const code = wrongCode(server, user.secret);
      const burst = await Promise.all([
        ...pendings.flatMap((token) => Array.from({ length: 5 }, () => api.post('/login/verify', { method: 'totp', code }, { token }))),
        ...Array.from({ length: 10 }, () => api.post('/me/reauthenticate', { code }, { token: user.token })),
        ...Array.from({ length: 10 }, () => api.delete('/me/2fa', { code }, { token: user.token })),
      ]);
      assert.ok(burst.every((r) => r.status === 401 || r.status === 429), burst.map((r) => r.status).join(','));
      assert.equal(burst.filter((r) => r.body?.error === 'invalid_code').length, 10, 'exactly the budget was evaluated');
      assert.equal(await failedCount(server, user.userId), 10);
      assert.equal((await securityEvents(server, user.userId, 'second_factor_locked')).length, 1);
      assert.equal((await api.post('/me/reauthenticate', { code: nextStepCode(server, user.secret) }, { token: user.token })).status, 429);
      server.clock.advance(LOCK_MS);
    });

    it('keeps counting on another instance and after a restart: the count lives in the shared database', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      for (let i = 0; i < 4; i += 1) assert.equal((await api.post('/me/reauthenticate', { code: wrongCode(server, user.secret) }, { token: user.token })).status, 401);

      const second = await startSecondInstance(server);
      try {
        const secondAPI = apiClient(second.url);
        for (let i = 0; i < 4; i += 1) assert.equal((await secondAPI.post('/me/reauthenticate', { code: wrongCode(second, user.secret) }, { token: user.token })).status, 401);
      } finally {
        await second.close();
      }
      assert.equal(await secondFactorGuesses(server, user.userId), 8, 'both instances charged one budget');

      // "Restart": a brand-new app on the same database continues the same count.
      const restarted = await startSecondInstance(server);
      try {
        const restartedAPI = apiClient(restarted.url);
        const pending = await passwordStep(restartedAPI, user.email);
        for (let i = 0; i < 2; i += 1) assert.equal((await restartedAPI.post('/login/verify', { method: 'totp', code: wrongCode(restarted, user.secret) }, { token: pending })).status, 401);
        const locked = await restartedAPI.post('/login/verify', { method: 'totp', code: nextStepCode(restarted, user.secret) }, { token: pending });
        assert.equal(locked.status, 429, 'the tenth wrong code, spread over three processes, locked the user');
      } finally {
        await restarted.close();
      }
      assert.equal((await api.post('/me/reauthenticate', { code: nextStepCode(server, user.secret) }, { token: user.token })).status, 429, 'and the first instance sees the lock');
      server.clock.advance(LOCK_MS);
    });

    it('counts per user, not per session or challenge: a fresh password step does not restore the budget', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      for (let login = 0; login < 3; login += 1) {
        const pending = await passwordStep(api, user.email);
        for (let i = 0; i < 3; i += 1) await api.post('/login/verify', { method: 'totp', code: wrongCode(server, user.secret) }, { token: pending });
      }
      assert.equal(await secondFactorGuesses(server, user.userId), 9);
      const pending = await passwordStep(api, user.email);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: wrongCode(server, user.secret) }, { token: pending })).status, 401);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: await passwordStep(api, user.email) })).status, 429);
      server.clock.advance(LOCK_MS);
    });
  });
});

/** A server counting failed passwords per IP at 3, so the per-IP limit shows after a few tries. */
function ipLimitedServer(trustedProxies: string): { get: () => TestServer } {
  let server: TestServer | null = null;
  before(async () => {
    server = await startTestServer('sqlite', { env: { FAILED_PASSWORDS_PER_IP: '3', FAILED_PASSWORDS_PER_EMAIL: '1000', TRUSTED_PROXIES: trustedProxies } });
  });
  after(async () => {
    await server?.close();
  });
  return {
    get: () => {
      if (!server) throw new Error('server not started');
      return server;
    },
  };
}

/** A failed password step sent straight over the socket with the given client-IP headers. */
async function failedLogin(server: TestServer, email: string, headers: Record<string, string>): Promise<number> {
  const body = JSON.stringify({ email, password: 'not the password' });
  return (await rawRequest(server.url, 'POST', '/api/v1/login', { 'content-type': 'application/json', ...headers }, body)).status;
}

const SPOOFED_HEADERS: Array<Record<string, string>> = [
  { 'x-forwarded-for': '203.0.113.1' },
  { forwarded: 'for=203.0.113.2' },
  { 'x-real-ip': '203.0.113.3' },
  { 'true-client-ip': '203.0.113.4' },
  { 'x-forwarded-for': '203.0.113.5', forwarded: 'for=203.0.113.5', 'x-real-ip': '203.0.113.5', 'true-client-ip': '203.0.113.5' },
];

describe('A. guessing — rule 2 (client-IP headers)', () => {
  describe('rule 2: client-IP headers are believed only from configured trusted proxies', () => {
    describe('with no trusted proxy configured', () => {
      const server = ipLimitedServer('');
      it('ignores X-Forwarded-For, Forwarded, X-Real-IP and True-Client-IP: the per-IP password limit still hits the real address', async () => {
        const target = server.get();
        const admin = await signUp(apiClient(target.url));
        const statuses: number[] = [];
        for (const headers of SPOOFED_HEADERS) statuses.push(await failedLogin(target, admin.email, headers));
        assert.deepEqual(statuses, [401, 401, 401, 429, 429], 'a new forged address per request bought no extra guesses');
        const logged = await securityEvents(target, admin.userId, 'login_failed');
        assert.ok(logged.length >= 3 && logged.every((event) => event.ip === '127.0.0.1'), JSON.stringify(logged.map((e) => e.ip)));
      });
    });

    describe('with a trusted proxy that is not the caller', () => {
      const server = ipLimitedServer('10.9.9.9');
      it('does not believe X-Forwarded-For from an address that is not on the list', async () => {
        const target = server.get();
        const email = uniqueEmail('spoof');
        const statuses: number[] = [];
        for (let i = 0; i < 5; i += 1) statuses.push(await failedLogin(target, email, { 'x-forwarded-for': `198.51.100.${i + 1}` }));
        assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      });
    });

    describe('with the caller configured as the trusted proxy', () => {
      const server = ipLimitedServer('127.0.0.1');
      it('believes X-Forwarded-For from the proxy: each forwarded client has its own limit and is the IP in the security log', async () => {
        const target = server.get();
        const admin = await signUp(apiClient(target.url));
        const statuses: number[] = [];
        for (let i = 0; i < 5; i += 1) statuses.push(await failedLogin(target, admin.email, { 'x-forwarded-for': `198.51.100.${i + 1}` }));
        assert.deepEqual(statuses, [401, 401, 401, 401, 401], 'five different clients behind the proxy, one guess each');
        // The security log is written just after the answer (audit/events.ts), with the next shared commit.
        await waitFor(async () => (await securityEvents(target, admin.userId, 'login_failed')).length >= 5);
        const ips = (await securityEvents(target, admin.userId, 'login_failed')).map((event) => event.ip).sort();
        assert.deepEqual(ips, ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5']);
        // One forwarded client still meets its own limit.
        const same: number[] = [];
        for (let i = 0; i < 4; i += 1) same.push(await failedLogin(target, admin.email, { 'x-forwarded-for': '198.51.100.77' }));
        assert.deepEqual(same, [401, 401, 401, 429]);
      });
    });
  });
});

forEachDatabase('A. guessing — rules 3 and 4 (separate budgets, lockout end, notice)', (context) => {
  describe('rule 3: the second-factor budget is separate from the password budget', () => {
    it('lets a user who already passed the password step finish with their code while attackers lock the password step', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pending = await passwordStep(api, user.email);
      for (let i = 0; i < server.config.policy.failedPasswordsPerEmail; i += 1) assert.equal((await api.post('/login', { email: user.email, password: 'wrong password' })).status, 401);
      assert.equal((await api.post('/login', { email: user.email, password: PASSWORD })).status, 429, 'the password step is locked');
      assert.equal(await secondFactorGuesses(server, user.userId), 0, 'wrong passwords spent nothing of the code budget');
      const finished = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: pending });
      assert.equal(finished.status, 200, finished.text);
      server.clock.advance(LOCK_MS);
    });

    it('keeps the password step open, with its whole budget, while second-factor codes are locked', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      for (let i = 0; i < server.config.policy.wrongCodesPerUser; i += 1) await api.post('/me/reauthenticate', { code: wrongCode(server, user.secret) }, { token: user.token });
      assert.equal((await api.post('/me/reauthenticate', { code: nextStepCode(server, user.secret) }, { token: user.token })).status, 429, 'codes are locked');
      // Nine wrong passwords are still only wrong passwords; the right one still passes step one.
      for (let i = 0; i < server.config.policy.failedPasswordsPerEmail - 1; i += 1) assert.equal((await api.post('/login', { email: user.email, password: 'wrong password' })).status, 401);
      const login = await api.post('/login', { email: user.email, password: PASSWORD });
      assert.equal(login.status, 200, login.text);
      assert.equal(login.body.state, 'mfa_required');
      server.clock.advance(LOCK_MS);
    });
  });

  describe('rule 4: a lockout ends by itself, a success resets the count, and the user is e-mailed time, IP and user agent, never a code', () => {
    it('keeps the lock for its whole window and lifts it by itself afterwards', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      for (let i = 0; i < 10; i += 1) await api.post('/me/reauthenticate', { code: wrongCode(server, user.secret) }, { token: user.token });
      server.clock.advance(LOCK_MS - MINUTE);
      const still = await api.post('/me/reauthenticate', { code: nextStepCode(server, user.secret) }, { token: user.token });
      assert.equal(still.status, 429);
      assert.ok(Number(still.headers.get('retry-after')) > 0 && Number(still.headers.get('retry-after')) <= 60, `Retry-After ${still.headers.get('retry-after')}`);
      server.clock.advance(MINUTE);
      assert.equal((await api.post('/me/reauthenticate', { code: nextStepCode(server, user.secret) }, { token: user.token })).status, 204, 'lifted without anyone acting');
    });

    it('resets the count after a right code, so earlier failures do not add up to a lock', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      for (let i = 0; i < 9; i += 1) await api.post('/me/reauthenticate', { code: wrongCode(server, user.secret) }, { token: user.token });
      assert.equal(await secondFactorGuesses(server, user.userId), 9);
      assert.equal((await api.post('/me/reauthenticate', { code: nextStepCode(server, user.secret) }, { token: user.token })).status, 204);
      assert.equal(await secondFactorGuesses(server, user.userId), 0);
      for (let i = 0; i < 9; i += 1) assert.equal((await api.post('/me/reauthenticate', { code: wrongCode(server, user.secret) }, { token: user.token })).status, 401);
      assert.equal((await api.post('/me/reauthenticate', { code: nextStepCode(server, user.secret) }, { token: user.token })).status, 204, 'eighteen wrong codes, yet never ten in a row');
    });

    it('e-mails the user once when locked, with the time, IP address and user agent, and no code', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pendings = [await passwordStep(api, user.email), await passwordStep(api, user.email)];
      const tried: string[] = [];
      for (const token of pendings) {
        for (let i = 0; i < 5; i += 1) {
          const code = wrongCode(server, user.secret);
          tried.push(code);
          await api.post('/login/verify', { method: 'totp', code }, { token, headers: { 'user-agent': 'GuessBot/4.2 (rule 4)' } });
        }
      }
      await waitFor(() => mailsTo(server, user.email, /paused/i).length > 0);
      // A further refused attempt does not send a second notice.
      await api.post('/me/reauthenticate', { code: wrongCode(server, user.secret) }, { token: user.token });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const notices = mailsTo(server, user.email, /paused/i);
      assert.equal(notices.length, 1);
      const body = notices[0]!.body;
      assert.ok(body.includes(new Date(server.clock.now()).toUTCString()), 'the time of the lock');
      assert.match(body, /IP address: 127\.0\.0\.1/);
      assert.match(body, /GuessBot\/4\.2 \(rule 4\)/);
      assert.doesNotMatch(body, /\b\d{6}\b/, 'no six-digit code');
      for (const code of [...tried, currentCode(server, user.secret)]) assert.ok(!body.includes(code), `code ${code} in the notice`);
      for (const code of user.recoveryCodes) assert.ok(!body.includes(code));
      server.clock.advance(LOCK_MS);
    });
  });
});
