/**
 * SECURITY.md section H — secrets at rest and in logs (rules 29–30). One full run of the flows
 * per database collects every secret value the test saw (passwords, TOTP secrets and codes, SMS
 * codes, recovery codes, session and link tokens, phone numbers); then the raw database, the
 * server log, the error bodies and the security log are searched for each of them.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, PASSWORD, signUp, uniqueEmail, waitFor } from '../../helpers/fixtures.ts';
import { request, type APIClient, type APIResponse, type RequestOptions } from '../../helpers/http.ts';
import type { TestServer } from '../../helpers/server.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, passwordStep, wrongCode } from '../../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, uniqueMobile } from '../../helpers/sms.ts';
import { containsStandalone, dumpDatabase, sendDisableLink } from './helpers.ts';

interface Recorded {
  method: string;
  path: string;
  response: APIResponse;
}

/** An API client that keeps every answer, so error bodies and echoes can be searched later. */
function recordingClient(base: string, sink: Recorded[]): APIClient {
  const call = (method: string) => async (path: string, bodyOrOptions?: unknown, maybeOptions?: RequestOptions) => {
    const [body, options] = method === 'GET' ? [undefined, bodyOrOptions as RequestOptions | undefined] : [bodyOrOptions, maybeOptions];
    const response = await request(base, method, `/api/v1${path}`, body, options);
    sink.push({ method, path, response });
    return response;
  };
  return { get: call('GET'), post: call('POST'), patch: call('PATCH'), delete: call('DELETE') } as APIClient;
}

/** What one full run of the flows leaves behind, and every secret value it handled. */
interface FullRun {
  /** Long secrets: searched as substrings. */
  secrets: string[];
  /** Short codes and phone digits: searched as standalone values. */
  codes: string[];
  /** Codes that were sent by SMS or e-mail (never echoed back). */
  deliveredCodes: string[];
  responses: Recorded[];
}

async function runFullFlows(server: TestServer): Promise<FullRun> {
  const responses: Recorded[] = [];
  const api = recordingClient(server.url, responses);
  const secrets: string[] = [PASSWORD];
  const codes: string[] = [];
  const deliveredCodes: string[] = [];

  const admin = await signUp(api, uniqueEmail('admin'));
  secrets.push(admin.token);
  const app = await enrollAuthenticatorApp(server, api, admin.token);
  secrets.push(app.secret, app.token, ...app.recoveryCodes, ...app.recoveryCodes.map((c) => c.replace('-', '')));
  const regenerated = await api.post('/me/2fa/recovery-codes', undefined, { token: app.token });
  secrets.push(...regenerated.body.recoveryCodes);

  // Login with a wrong code, the right code, then a recovery code.
  const half = await passwordStep(api, admin.email);
  secrets.push(half);
  const wrong = wrongCode(server, app.secret);
  codes.push(wrong);
  await api.post('/login/verify', { method: 'totp', code: wrong }, { token: half });
  const right = nextStepCode(server, app.secret);
  codes.push(right);
  const verified = await api.post('/login/verify', { method: 'totp', code: right }, { token: half });
  secrets.push(verified.body.token);
  const half2 = await passwordStep(api, admin.email);
  await api.post('/login/verify', { method: 'recovery', code: regenerated.body.recoveryCodes[0] }, { token: half2 });
  await api.post('/login', { email: admin.email, password: 'a wrong password guess' });
  secrets.push('a wrong password guess');
  await api.post('/me/reauthenticate', { code: currentCode(server, app.secret) }, { token: verified.body.token });

  // A user with SMS: enrolment code, login code, a wrong code, a malformed one.
  const smsUser = await inviteAndAccept(server, api, admin.token);
  const phone = uniqueMobile();
  codes.push(phone.slice(1), phone.slice(3));
  secrets.push(phone);
  const smsLogin = await api.post('/login', { email: smsUser.email, password: PASSWORD });
  const sms = await enrollSMS(server, api, smsLogin.body.token, phone);
  deliveredCodes.push(latestSMSCode(server, phone));
  secrets.push(...sms.recoveryCodes);
  const smsHalf = await passwordStep(api, smsUser.email);
  const loginCode = latestSMSCode(server, phone);
  deliveredCodes.push(loginCode);
  await api.post('/login/verify', { method: 'sms', code: String((Number(loginCode) + 1) % 1_000_000).padStart(6, '0') }, { token: smsHalf });
  await api.post('/login/verify', { method: 'sms', code: `${loginCode}x` }, { token: smsHalf });
  const smsDone = await api.post('/login/verify', { method: 'sms', code: loginCode }, { token: smsHalf });
  secrets.push(smsDone.body.token);

  // Links: a disable link, a reset link, an invitation.
  const disable = await sendDisableLink(server, api, verified.body.token, smsUser);
  secrets.push(disable.token);
  await api.post(`/2fa/disable-links/${disable.token}`, { password: 'not the password at all' });
  await api.post(`/2fa/disable-links/${disable.token}`, { password: PASSWORD });
  secrets.push('not the password at all');
  await api.post('/password/forgot', { email: smsUser.email });
  await waitFor(() => server.outbox.list().some((m) => m.to === smsUser.email && m.body.includes('/password/reset/')));
  const reset = linkFromOutbox(server, smsUser.email, '/password/reset/');
  secrets.push(reset);
  await api.post('/password/reset', { token: reset, password: 'short' });
  await api.post('/password/reset', { token: reset, password: 'the brand new password' });
  secrets.push('the brand new password');
  const invitee = uniqueEmail('invitee');
  await api.post('/account/users', { email: invitee, name: 'Ivy', role: 'user' }, { token: verified.body.token });
  await waitFor(() => server.outbox.list().some((m) => m.to === invitee));
  const invitation = linkFromOutbox(server, invitee, '/invitations/');
  secrets.push(invitation);
  await api.post(`/invitations/${invitation}`, { password: 'the invited password' });
  secrets.push('the invited password');
  deliveredCodes.push(disable.token, reset, invitation);
  // Malformed requests whose bodies carry secrets.
  await api.post('/signup', { accountName: 'A', name: 'N', email: 'not-an-email', password: 'a password in a bad request' });
  await api.post('/login/verify', { method: 'totp', code: right, extra: PASSWORD }, { token: half });
  secrets.push('a password in a bad request');
  return { secrets, codes: [...codes, ...deliveredCodes.filter((c) => c.length < 10)], deliveredCodes, responses };
}

forEachDatabase('H. secrets at rest and in logs', (context) => {
  let run: FullRun;
  before(async () => {
    run = await runFullFlows(context().server);
  });

  function findLeaks(text: string): string[] {
    const long = run.secrets.filter((secret) => text.includes(secret)).map((s) => `${s.slice(0, 6)}…`);
    const short = run.codes.filter((code) => containsStandalone(text, code));
    return [...long, ...short];
  }

  describe('rule 29: a raw database dump shows no TOTP secret, phone number, code, token, recovery code or password', () => {
    it('reads every column of every table after a full run and finds none of the values in clear', async () => {
      const dump = await dumpDatabase(context().server);
      assert.ok(dump.has('factors') && dump.has('sessions') && dump.has('links'), 'the dump read the tables');
      for (const [table, text] of dump) assert.deepEqual(findLeaks(text), [], `table ${table} holds secrets in clear`);
    });

    it('keeps TOTP secrets and phone numbers as AES-GCM envelopes, not hashes or encodings of them', async () => {
      const { server } = context();
      const factors = await server.deps.db.selectFrom('factors').select(['kind', 'secret_encrypted']).execute();
      assert.ok(factors.length >= 1);
      for (const factor of factors) assert.match(factor.secret_encrypted, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/, factor.kind);
    });
  });

  /**
   * A ciphertext that fails authentication is server-side corruption (or an attacker with write
   * access to the database), not client input: the answer is the generic internal_error (5xx is
   * honest here), never a login, never a text, and nothing about the cipher in the body.
   */
  function assertFailedClosed(answer: APIResponse): void {
    assert.ok(answer.status >= 400, `answered ${answer.status}: ${answer.text}`);
    assert.equal(answer.body?.token, undefined, 'no token');
    if (answer.status >= 500) assert.equal(answer.body?.error, 'internal_error');
    assert.doesNotMatch(answer.text, /decrypt|cipher|GCM|auth(entication)? tag|stack|\.ts:\d+/i);
  }

  describe('rule 29: a tampered or transplanted ciphertext fails closed', () => {
    it('refuses the right code when the stored TOTP secret was tampered with, and says nothing about why', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const app = await enrollAuthenticatorApp(server, api, admin.token);
      const row = await server.deps.db.selectFrom('factors').select(['id', 'secret_encrypted']).where('user_id', '=', admin.userId).executeTakeFirstOrThrow();
      const last = row.secret_encrypted.at(-5) === 'A' ? 'B' : 'A';
      const tampered = `${row.secret_encrypted.slice(0, -5)}${last}${row.secret_encrypted.slice(-4)}`;
      await server.deps.db.updateTable('factors').set({ secret_encrypted: tampered }).where('id', '=', row.id).execute();
      const half = await passwordStep(api, admin.email);
      const answer = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, app.secret) }, { token: half });
      assertFailedClosed(answer);
      assert.equal((await api.get('/me', { token: half })).status, 401, 'the session stays half-authenticated');
    });

    it('refuses the right code when another user\'s encrypted secret is copied into the row', async () => {
      const { api, server } = context();
      const victim = await signUp(api);
      await enrollAuthenticatorApp(server, api, victim.token);
      const attacker = await signUp(api);
      const attackerApp = await enrollAuthenticatorApp(server, api, attacker.token);
      const attackerRow = await server.deps.db.selectFrom('factors').select('secret_encrypted').where('user_id', '=', attacker.userId).executeTakeFirstOrThrow();
      await server.deps.db.updateTable('factors').set({ secret_encrypted: attackerRow.secret_encrypted }).where('user_id', '=', victim.userId).execute();
      const half = await passwordStep(api, victim.email);
      const answer = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, attackerApp.secret) }, { token: half });
      assertFailedClosed(answer);
      assert.equal((await api.get('/me', { token: half })).status, 401);
    });

    it('sends no text and logs nobody in when a stored phone number was tampered with', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const phone = uniqueMobile();
      await enrollSMS(server, api, admin.token, phone);
      const row = await server.deps.db.selectFrom('factors').select(['id', 'secret_encrypted']).where('user_id', '=', admin.userId).executeTakeFirstOrThrow();
      const tampered = `${row.secret_encrypted.slice(0, -3)}${row.secret_encrypted.at(-3) === 'A' ? 'B' : 'A'}${row.secret_encrypted.slice(-2)}`;
      await server.deps.db.updateTable('factors').set({ secret_encrypted: tampered }).where('id', '=', row.id).execute();
      const textsBefore = server.outbox.list().filter((m) => m.channel === 'sms').length;
      const login = await api.post('/login', { email: admin.email, password: PASSWORD });
      if (login.status === 200) {
        assert.equal(login.body.state, 'mfa_required');
        assertFailedClosed(await api.post('/login/sms', undefined, { token: login.body.token }));
      } else assertFailedClosed(login);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(server.outbox.list().filter((m) => m.channel === 'sms').length, textsBefore, 'a text was sent to a number that failed to decrypt');
    });
  });

  describe('rule 30: logs, error bodies and the security log carry no password, secret, code, token or full phone number', () => {
    it('finds none of the run\'s secret values in any server log line (the development outbox lines excepted)', () => {
      const { server } = context();
      // The outbox lines ARE the development delivery channel (PRODUCT.md §5): printing them is the point.
      const lines = server.logLines.filter((line) => !line.includes('"outbox":true'));
      assert.ok(lines.length > 50, 'the run was logged');
      for (const line of lines) assert.deepEqual(findLeaks(line), [], `log line leaks: ${line.slice(0, 200)}`);
    });

    it('finds none of them in any error body', () => {
      const errors = run.responses.filter((r) => r.response.status >= 400);
      assert.ok(errors.length >= 6, 'the run provoked errors');
      for (const { method, path, response } of errors) assert.deepEqual(findLeaks(response.text), [], `${method} ${path} error body leaks`);
    });

    it('finds none of them in the security log table', async () => {
      const { server } = context();
      const rows = await server.deps.db.selectFrom('security_events').selectAll().execute();
      assert.ok(rows.length > 10);
      assert.deepEqual(findLeaks(JSON.stringify(rows)), []);
    });

    it('never echoes a code or link token that was sent by SMS or e-mail in any answer', () => {
      for (const { method, path, response } of run.responses) {
        const text = response.text + JSON.stringify([...response.headers]);
        for (const delivered of run.deliveredCodes) assert.ok(!containsStandalone(text, delivered), `${method} ${path} echoes a delivered code`);
      }
    });
  });
});
