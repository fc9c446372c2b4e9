/**
 * Rotating the encryption key (README, "Rotating the encryption key"): with the new key in
 * ENCRYPTION_KEY and the old one in PREVIOUS_ENCRYPTION_KEYS, `twofold rotate-key` re-encrypts
 * every secret so that the old key opens nothing stored any more, and users log in as before.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decryptSecret } from '../../src/crypto/encryption.ts';
import { deriveKeys } from '../../src/crypto/keys.ts';
import { smsFactorAssociatedData } from '../../src/factors/sms/enrollment.ts';
import { totpEnrollmentAssociatedData, totpFactorAssociatedData } from '../../src/factors/totp/pending-enrollment.ts';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { startTestServer, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, passwordStep } from '../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode } from '../helpers/sms.ts';
import { twofoldBin } from '../helpers/twofold-command.ts';

const NEW_KEY = randomBytes(32).toString('base64');

function runCommand(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [twofoldBin, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

for (const target of await databaseTargets()) {
  describe(`twofold rotate-key [${target.kind}]`, { skip: target.skip }, () => {
    let database: TestDatabase;
    const app = { email: '', secret: '', recoveryCodes: [] as string[] };
    const sms = { email: '', phone: '' };

    before(async () => {
      database = await createTestDatabase(target.kind);
      // Everything stored under the old key: an app factor with recovery codes, an SMS factor,
      // and a pending app enrollment.
      const server = await startTestServer(target.kind, { database });
      try {
        const api = apiClient(server.url);
        const appUser = await signUp(api);
        const enrolled = await enrollAuthenticatorApp(server, api, appUser.token);
        Object.assign(app, { email: appUser.email, secret: enrolled.secret, recoveryCodes: enrolled.recoveryCodes });
        assert.equal((await api.post('/me/2fa/totp', undefined, { token: enrolled.token })).status, 201, 'a pending replacement enrollment');
        const smsUser = await signUp(api);
        const smsEnrolled = await enrollSMS(server, api, smsUser.token);
        Object.assign(sms, { email: smsUser.email, phone: smsEnrolled.phone });
      } finally {
        await server.close();
      }
    });
    after(async () => {
      await database.drop();
    });

    it('refuses to run without the replaced key, saying what is missing', async () => {
      const result = await runCommand(['rotate-key'], { DATABASE_URL: database.url, ENCRYPTION_KEY: NEW_KEY });
      assert.equal(result.status, 2);
      assert.match(result.stderr, /PREVIOUS_ENCRYPTION_KEYS/);
    });

    it('re-encrypts every stored secret so that the old key opens none of them', async () => {
      const result = await runCommand(['rotate-key'], { DATABASE_URL: database.url, ENCRYPTION_KEY: NEW_KEY, PREVIOUS_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /2 factors, 1 pending app enrollments, 0 pending phone numbers/);

      const server = await startTestServer(target.kind, { database, env: { ENCRYPTION_KEY: NEW_KEY } });
      try {
        const oldKey = deriveKeys(Buffer.from(TEST_ENCRYPTION_KEY, 'base64')).encryption;
        const newKey = deriveKeys(Buffer.from(NEW_KEY, 'base64')).encryption;
        const factors = await server.deps.db.selectFrom('factors').select(['id', 'user_id', 'kind', 'secret_encrypted']).execute();
        const enrollments = await server.deps.db.selectFrom('totp_enrollments').select(['id', 'user_id', 'secret_encrypted']).execute();
        const stored = [
          ...factors.map((f) => ({ value: f.secret_encrypted, associatedData: f.kind === 'totp' ? totpFactorAssociatedData(f.user_id, f.id) : smsFactorAssociatedData(f.user_id, f.id) })),
          ...enrollments.map((e) => ({ value: e.secret_encrypted, associatedData: totpEnrollmentAssociatedData(e.user_id, e.id) })),
        ];
        assert.equal(stored.length, 3);
        for (const { value, associatedData } of stored) {
          assert.ok(decryptSecret(newKey, value, associatedData).length > 0, 'the new key opens it');
          assert.throws(() => decryptSecret(oldKey, value, associatedData), /authenticate/, 'the old key opens nothing');
        }
      } finally {
        await server.close();
      }
    });

    it('keeps app and SMS logins working under the new key alone, texting the same number', async () => {
      const server = await startTestServer(target.kind, { database, env: { ENCRYPTION_KEY: NEW_KEY } });
      try {
        const api = apiClient(server.url);
        const appLogin = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, app.secret) }, { token: await passwordStep(api, app.email) });
        assert.equal(appLogin.status, 200, appLogin.text);

        const smsLogin = await api.post('/login', { email: sms.email, password: PASSWORD });
        assert.equal(smsLogin.body.state, 'mfa_required');
        const verified = await api.post('/login/verify', { method: 'sms', code: latestSMSCode(server, sms.phone) }, { token: smsLogin.body.token });
        assert.equal(verified.status, 200, verified.text);
        assert.ok(currentCode(server, app.secret), 'oathtool still computes codes for the same secret');
      } finally {
        await server.close();
      }
    });

    it('accepts recovery codes issued before the rotation only while the old key is a previous key', async () => {
      const withoutOldKey = await startTestServer(target.kind, { database, env: { ENCRYPTION_KEY: NEW_KEY } });
      try {
        const api = apiClient(withoutOldKey.url);
        const refused = await api.post('/login/verify', { method: 'recovery', code: app.recoveryCodes[0] }, { token: await passwordStep(api, app.email) });
        assert.equal(refused.status, 401, refused.text);
      } finally {
        await withoutOldKey.close();
      }
      const withOldKey = await startTestServer(target.kind, { database, env: { ENCRYPTION_KEY: NEW_KEY, PREVIOUS_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY } });
      try {
        const api = apiClient(withOldKey.url);
        const accepted = await api.post('/login/verify', { method: 'recovery', code: app.recoveryCodes[1] }, { token: await passwordStep(api, app.email) });
        assert.equal(accepted.status, 200, accepted.text);
      } finally {
        await withOldKey.close();
      }
    });
  });
}
