/**
 * The people the fuzzer acts as, made through the real flows: an administrator with an
 * authenticator app and recovery codes (a complete session), the same administrator after the
 * password step only (a half-authenticated session waiting for its code), an invited member
 * who has not accepted yet (a live invitation link), a live password-reset link, and a page
 * CSRF cookie with its token. Fuzzed requests can end any of these (log out, use a link, reset
 * the password), so `heal` checks them and builds a fresh cast when one has gone.
 */
import assert from 'node:assert/strict';
import { Secret, TOTP } from 'otpauth';
import { enrollAuthenticatorApp, passwordStep } from '../helpers/two-factor.ts';
import { linkFromOutbox, PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { apiClient, type APIClient } from '../helpers/http.ts';
import type { TestServer } from '../helpers/server.ts';
import type { LiveContext, Placeholder } from './request-model.ts';

interface Members {
  adminId: string;
  adminEmail: string;
  memberId: string;
  memberEmail: string;
  secret: string;
  recoveryCodes: string[];
  inviteToken: string;
  resetToken: string;
  enrollmentId: string;
  completeToken: string;
  halfToken: string;
}

async function readCSRF(server: TestServer): Promise<{ cookie: string; token: string }> {
  const page = await fetch(`${server.url}/login`);
  const cookie = page.headers.getSetCookie().map((line) => line.split(';')[0]!).find((pair) => pair.includes('csrf'));
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  assert.ok(cookie && token, 'the login page hands out a CSRF cookie and token');
  return { cookie, token };
}

async function buildMembers(server: TestServer, api: APIClient): Promise<Members> {
  const admin = await signUp(api, uniqueEmail('fuzz-admin'), 'Fuzz Inc');
  const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
  const memberEmail = uniqueEmail('fuzz-member');
  const invited = await api.post('/account/users', { email: memberEmail, name: 'Mo Member', role: 'user' }, { token: enrolled.token });
  assert.equal(invited.status, 201, invited.text);
  await waitFor(() => server.outbox.list().some((message) => message.to === memberEmail));
  const forgot = await api.post('/password/forgot', { email: admin.email });
  assert.ok(forgot.status < 300, forgot.text);
  await waitFor(() => server.outbox.list().some((message) => message.to === admin.email && message.body.includes('/password/reset/')));
  const pending = await api.post('/me/2fa/totp', undefined, { token: enrolled.token });
  return {
    adminId: admin.userId,
    adminEmail: admin.email,
    memberId: invited.body.user.id,
    memberEmail,
    secret: enrolled.secret,
    recoveryCodes: enrolled.recoveryCodes,
    inviteToken: linkFromOutbox(server, memberEmail, '/invitations/'),
    resetToken: linkFromOutbox(server, admin.email, '/password/reset/'),
    enrollmentId: pending.status === 201 ? pending.body.enrollmentId : 'no-pending-enrollment',
    completeToken: enrolled.token,
    halfToken: await passwordStep(api, admin.email),
  };
}

export class Cast {
  private members!: Members;
  private csrf!: { cookie: string; token: string };
  /** Casts built, including the first. */
  builds = 0;

  private constructor(
    private readonly server: TestServer,
    private readonly api: APIClient,
  ) {}

  static async create(server: TestServer): Promise<Cast> {
    const cast = new Cast(server, apiClient(server.url));
    await cast.rebuild();
    return cast;
  }

  async rebuild(): Promise<void> {
    this.members = await buildMembers(this.server, this.api);
    this.csrf = await readCSRF(this.server);
    this.builds += 1;
  }

  /** The values a request may name, as of now (the TOTP code follows the server's clock). */
  live(): LiveContext {
    const m = this.members;
    const totpCode = TOTP.generate({ secret: Secret.fromBase32(m.secret), timestamp: this.server.clock.now() });
    const values: Record<Placeholder, string> = {
      '«adminId»': m.adminId,
      '«memberId»': m.memberId,
      '«adminEmail»': m.adminEmail,
      '«memberEmail»': m.memberEmail,
      '«password»': PASSWORD,
      '«inviteToken»': m.inviteToken,
      '«resetToken»': m.resetToken,
      '«totpCode»': totpCode,
      '«recoveryCode»': m.recoveryCodes[0] ?? 'none-left',
      '«enrollmentId»': m.enrollmentId,
    };
    return { values, completeToken: m.completeToken, halfToken: m.halfToken, cookieName: 'twofold_session', csrfCookie: this.csrf.cookie, csrfToken: this.csrf.token, origin: this.server.origin };
  }

  /**
   * Checks the complete session is still complete and the half one still waits for its code.
   * When only the half one has gone (a fuzzed logout, a right code, too many wrong ones), the
   * password step alone makes a new one; anything else builds a fresh cast. Answers whether
   * anything was rebuilt.
   */
  async heal(): Promise<boolean> {
    const complete = await this.api.get('/me', { token: this.members.completeToken });
    const half = await this.api.get('/me', { token: this.members.halfToken });
    const halfIntact = half.status === 401 && half.body?.error === 'mfa_required';
    if (complete.status === 200 && halfIntact) return false;
    if (complete.status === 200) {
      const login = await this.api.post('/login', { email: this.members.adminEmail, password: PASSWORD });
      if (login.status === 200 && login.body.state === 'mfa_required') {
        this.members.halfToken = login.body.token;
        return true;
      }
    }
    await this.rebuild();
    return true;
  }
}
