/**
 * Helpers for the second-factor suites: codes from Debian's `oathtool` (an independent RFC 6238
 * implementation, so the tests do not check our generator against itself), enrolling a user's
 * authenticator app over the API, and reaching the Verification Code step.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { APIClient } from './http.ts';
import { PASSWORD } from './fixtures.ts';
import type { TestServer } from './server.ts';

export const OATHTOOL = '/usr/bin/oathtool';
const STEP_MS = 30_000;

/** The 6-digit SHA-1 code an authenticator app shows at `atMs` for a base32 secret. */
export function oathtoolCode(secretBase32: string, atMs: number): string {
  return execFileSync(OATHTOOL, ['--totp', '-b', secretBase32, '--now', `@${Math.floor(atMs / 1000)}`], { encoding: 'utf8' }).trim();
}

/** The code for the server's current time. */
export function currentCode(server: TestServer, secretBase32: string): string {
  return oathtoolCode(secretBase32, server.clock.now());
}

/** Moves the server's clock into the next time step and answers that step's code. */
export function nextStepCode(server: TestServer, secretBase32: string): string {
  server.clock.advance(STEP_MS);
  return currentCode(server, secretBase32);
}

/** A well-formed code that is right for none of the steps the server accepts now (±1). */
export function wrongCode(server: TestServer, secretBase32: string): string {
  const now = server.clock.now();
  const accepted = new Set([-1, 0, 1].map((delta) => oathtoolCode(secretBase32, now + delta * STEP_MS)));
  let candidate = Number(oathtoolCode(secretBase32, now));
  do candidate = (candidate + 1) % 1_000_000;
  while (accepted.has(String(candidate).padStart(6, '0')));
  return String(candidate).padStart(6, '0');
}

export interface Enrolled {
  secret: string;
  /** The first set when the app turned 2FA on; empty when the user already had a method and kept their codes. */
  recoveryCodes: string[];
  /** The token to use afterwards (a new one when the confirmation completed a login). */
  token: string;
}

/** Enrols the authenticator app for the session `token` and confirms it with an oathtool code. */
export async function enrollAuthenticatorApp(server: TestServer, api: APIClient, token: string): Promise<Enrolled> {
  const started = await api.post('/me/2fa/totp', undefined, { token });
  assert.equal(started.status, 201, started.text);
  const confirmed = await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token });
  assert.equal(confirmed.status, 200, confirmed.text);
  return { secret: started.body.secret, recoveryCodes: confirmed.body.recoveryCodes ?? [], token: confirmed.body.token ?? token };
}

/** The password step for a user with a factor: a half-authenticated token. */
export async function passwordStep(api: APIClient, email: string): Promise<string> {
  const login = await api.post('/login', { email, password: PASSWORD });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.body.state, 'mfa_required');
  return login.body.token;
}

export async function securityEvents(server: TestServer, userId: string, type: string): Promise<Array<{ detail: string; ip: string | null; user_agent: string | null }>> {
  return server.deps.db.selectFrom('security_events').select(['detail', 'ip', 'user_agent']).where('subject_user_id', '=', userId).where('type', '=', type).execute();
}
