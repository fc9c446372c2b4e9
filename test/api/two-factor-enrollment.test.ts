/**
 * Turning on the authenticator app over the API (PRODUCT.md §2.3, §3; SECURITY.md rules 5,
 * 12-16, 29): what the app is shown, what confirming does, and what can never be reused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { inviteAndAccept, logIn, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, passwordStep, securityEvents } from '../helpers/two-factor.ts';

/** Renders the SVG to PNG (librsvg) and reads it back with zbar, as a phone camera would. */
function decodeQRCode(svg: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'twofold-qr-'));
  try {
    writeFileSync(join(folder, 'qr.svg'), svg);
    execFileSync('rsvg-convert', ['--width', '400', '--background-color', 'white', '--output', join(folder, 'qr.png'), join(folder, 'qr.svg')]);
    // stderr is piped away: zbar complains about a missing D-Bus on headless machines.
    return execFileSync('zbarimg', ['--raw', '--quiet', join(folder, 'qr.png')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).replace(/\n$/, '');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

forEachDatabase('authenticator-app enrollment', (context) => {
  it('shows a 160-bit secret as a Key URI and a QR code that decodes to exactly that URI, never cached', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    assert.equal(started.status, 201, started.text);
    assert.equal(started.headers.get('cache-control'), 'no-store');
    const { secret, otpauthUri, qrSvg, enrollmentId, expiresAt } = started.body;
    assert.match(secret, /^[A-Z2-7]{32}$/, '160 bits are 32 base32 characters, no padding');
    assert.equal(otpauthUri, `otpauth://totp/Twofold:${admin.email}?secret=${secret}&issuer=Twofold&algorithm=SHA1&digits=6&period=30`);
    assert.match(qrSvg, /^<svg[\s\S]*<\/svg>\s*$/);
    assert.equal(decodeQRCode(qrSvg), otpauthUri);
    assert.equal(typeof enrollmentId, 'string');
    assert.equal(Date.parse(expiresAt) - context().server.clock.now(), 5 * 60_000);
  });

  it('confirms with a code from oathtool and answers ten single-use recovery codes of 50 bits, once', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    const confirmed = await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token: admin.token });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.headers.get('cache-control'), 'no-store');
    assert.equal(confirmed.body.token, undefined, 'a complete session keeps its token');
    const codes: string[] = confirmed.body.recoveryCodes;
    assert.equal(codes.length, 10);
    for (const code of codes) assert.match(code, /^[a-z2-7]{5}-[a-z2-7]{5}$/);
    assert.equal(new Set(codes).size, 10);
    const me = await api.get('/me', { token: admin.token });
    assert.deepEqual(me.body.twoFactor, { enabled: true, methods: ['totp'] });
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(login.body.state, 'mfa_required');
    assert.deepEqual(login.body.methods, ['totp']);
    assert.equal((await securityEvents(server, admin.userId, 'factor_enrolled')).length, 1);
  });

  it('stores the secret encrypted and recovery codes only as keyed hashes: the database shows none of them', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
    const factors = await server.deps.db.selectFrom('factors').selectAll().where('user_id', '=', admin.userId).execute();
    const recovery = await server.deps.db.selectFrom('recovery_codes').selectAll().where('user_id', '=', admin.userId).execute();
    const dump = JSON.stringify({ factors, recovery, enrollments: await server.deps.db.selectFrom('totp_enrollments').selectAll().execute() });
    assert.ok(!dump.includes(enrolled.secret), 'base32 secret at rest');
    assert.ok(!dump.toLowerCase().includes(Buffer.from(enrolled.secret, 'utf8').toString('hex')));
    for (const code of enrolled.recoveryCodes) {
      assert.ok(!dump.includes(code) && !dump.includes(code.replace('-', '')), 'recovery code at rest');
    }
    assert.equal(recovery.length, 10);
    assert.match(factors[0]!.secret_encrypted, /^v1\./);
  });

  it('answers 410 for an enrollment that timed out or was replaced, and the newest one still works', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const first = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    const second = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    assert.notEqual(first.body.secret, second.body.secret);
    const replaced = await api.post('/me/2fa/totp/confirm', { enrollmentId: first.body.enrollmentId, code: currentCode(server, first.body.secret) }, { token: admin.token });
    assert.equal(replaced.status, 410);
    assert.equal(replaced.body.error, 'enrollment_expired');

    server.clock.advance(5 * 60_000);
    const timedOut = await api.post('/me/2fa/totp/confirm', { enrollmentId: second.body.enrollmentId, code: currentCode(server, second.body.secret) }, { token: admin.token });
    assert.equal(timedOut.status, 410);

    const third = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    const wrong = await api.post('/me/2fa/totp/confirm', { enrollmentId: third.body.enrollmentId, code: currentCode(server, second.body.secret) }, { token: admin.token });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_code');
    const ok = await api.post('/me/2fa/totp/confirm', { enrollmentId: third.body.enrollmentId, code: currentCode(server, third.body.secret) }, { token: admin.token });
    assert.equal(ok.status, 200, ok.text);
    const again = await api.post('/me/2fa/totp/confirm', { enrollmentId: third.body.enrollmentId, code: currentCode(server, third.body.secret) }, { token: admin.token });
    assert.equal(again.status, 410, 'a confirmed enrollment cannot be confirmed twice');
  });

  it('lets exactly one of concurrent confirmations of one enrollment succeed', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    const code = currentCode(server, started.body.secret);
    const burst = await Promise.all(Array.from({ length: 20 }, () => api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code }, { token: admin.token })));
    assert.equal(burst.filter((r) => r.status === 200).length, 1, burst.map((r) => r.status).join(','));
    assert.ok(burst.every((r) => r.status === 200 || r.status === 410));
    assert.equal((await server.deps.db.selectFrom('factors').select('id').where('user_id', '=', admin.userId).execute()).length, 1);
  });

  it('refuses a confirmation code that is not exactly six ASCII digits with 400', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    for (const code of ['12345', '1234567', '１２３４５６', '+12345', '1e5', 123456, ['123456'], '12 456']) {
      const response = await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code }, { token: admin.token });
      assert.equal(response.status, 400, `${JSON.stringify(code)}: ${response.text}`);
      assert.equal(response.body.error, 'invalid_request');
    }
  });

  it('signs out the other sessions and e-mails the user when a factor is confirmed', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const other = await logIn(api, admin.email);
    await enrollAuthenticatorApp(server, api, admin.token);
    assert.equal((await api.get('/me', { token: other.token })).status, 401, 'other session revoked');
    assert.equal((await api.get('/me', { token: admin.token })).status, 200, 'the confirming session stays');
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && /authenticator app/i.test(m.subject ?? "")));
  });

  it('keeps the active factor working until its replacement is confirmed, and never shows its secret again', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const first = await enrollAuthenticatorApp(server, api, admin.token);
    const rotation = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    assert.equal(rotation.status, 201);
    assert.notEqual(rotation.body.secret, first.secret, 'a new enrollment shows a new secret, never the active one');
    // Not confirmed yet: the old app still logs in, the new one does not.
    const pending = await passwordStep(api, admin.email);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, rotation.body.secret) }, { token: pending })).status, 401);
    const oldWorks = await api.post('/login/verify', { method: 'totp', code: currentCode(server, first.secret) }, { token: pending });
    assert.equal(oldWorks.status, 200, oldWorks.text);
    // Confirmed: only the new one.
    const token = oldWorks.body.token;
    const rotated = await api.post('/me/2fa/totp', undefined, { token });
    assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: rotated.body.enrollmentId, code: currentCode(server, rotated.body.secret) }, { token })).status, 200);
    const next = await passwordStep(api, admin.email);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, first.secret) }, { token: next })).status, 401);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: currentCode(server, rotated.body.secret) }, { token: next })).status, 200);
  });

  it('needs recent authentication to replace an existing factor', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
    server.clock.advance(16 * 60_000);
    const stale = await api.post('/me/2fa/totp', undefined, { token: admin.token });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.error, 'reauthentication_required');
    assert.equal((await api.post('/me/reauthenticate', { code: currentCode(server, enrolled.secret) }, { token: admin.token })).status, 204);
    assert.equal((await api.post('/me/2fa/totp', undefined, { token: admin.token })).status, 201);
  });

  it('completes an enrollment-required login: new token, old token dead, /me reachable', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const adminFactor = await enrollAuthenticatorApp(server, api, admin.token);
    assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
    const user = await inviteAndAccept(server, api, admin.token);
    const login = await logIn(api, user.email);
    assert.equal(login.state, 'enrollment_required');
    assert.equal((await api.get('/me', { token: login.token })).body.error, 'enrollment_required');
    const enrolled = await enrollAuthenticatorApp(server, api, login.token);
    assert.notEqual(enrolled.token, login.token);
    assert.equal((await api.get('/me', { token: login.token })).status, 401, 'the enrollment-only token is dead');
    const me = await api.get('/me', { token: enrolled.token });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.twoFactor.methods, ['totp']);
    assert.ok(me.body.user.lastLoginAt);
    assert.ok(adminFactor.secret);
  });
});
