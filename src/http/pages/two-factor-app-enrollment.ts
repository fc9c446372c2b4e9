/**
 * Starting (or rotating) an authenticator-app enrollment from a page, with the same check in
 * the same order as POST /api/v1/me/2fa/totp: a session needs recent authentication
 * (SECURITY.md rules 12, 28) unless it is the enrollment-only state enforcement imposes, which
 * could not re-enter its password anyway. The enrollment itself is startTOTPEnrollment's alone.
 */
import { utcText } from '../views/time.ts';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { showPendingEnrollment, startTOTPEnrollment, type StartedEnrollment } from '../../factors/totp/pending-enrollment.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { enrollmentNeedsReauthentication } from '../recent-authentication.ts';
import type { EnrollmentDisplay, MobileOS } from '../views/two-factor-app.ts';
import { listConfirmedMethods } from '../../factors/registry.ts';

export const MobileOSSchema = Type.Union([Type.Literal('iphone'), Type.Literal('android')]);

export function readMobileOS(value: unknown): MobileOS | null {
  return value === 'iphone' || value === 'android' ? value : null;
}

/** The user's confirmed methods, read as the API reads them. */
export async function loadMethods(deps: Pick<Deps, 'db'>, session: SessionContext): Promise<string[]> {
  return listConfirmedMethods(deps.db, { id: session.userId });
}

/** True when starting an enrollment now would be refused until the password is entered again. */
export function needsPasswordFirst(deps: Pick<Deps, 'clock' | 'config'>, session: SessionContext): boolean {
  return enrollmentNeedsReauthentication(deps, session);
}

export type AppEnrollmentStart = { ok: true; enrollment: EnrollmentDisplay } | { ok: false; reason: 'reauthentication_required' };

export async function beginAppEnrollment(deps: Deps, session: SessionContext): Promise<AppEnrollmentStart> {
  if (needsPasswordFirst(deps, session)) return { ok: false, reason: 'reauthentication_required' };
  const started = await startTOTPEnrollment(deps, { userId: session.userId, email: session.email, issuer: deps.config.issuer, lifetimeMs: deps.config.policy.totpEnrollmentMs });
  return { ok: true, enrollment: presentEnrollment(started, deps.clock.now()) };
}

export function presentEnrollment(started: StartedEnrollment, now: number): EnrollmentDisplay {
  return {
    enrollmentId: started.enrollmentId,
    otpauthURI: started.otpauthURI,
    qrCode: `data:image/svg+xml;base64,${Buffer.from(started.qrSVG, 'utf8').toString('base64')}`,
    secret: started.secretBase32.replace(/(.{4})(?=.)/g, '$1 '),
    expiresAt: new Date(started.expiresAt).toISOString(),
    expiresText: utcText(started.expiresAt, 'clock'),
    expiresInMs: Math.max(0, started.expiresAt - now),
  };
}

/** The pending enrollment the form confirms, shown again after a wrong code; null once it is gone or expired. */
export async function showAppEnrollmentAgain(deps: Deps, session: SessionContext, enrollmentId: string): Promise<EnrollmentDisplay | null> {
  const pending = await showPendingEnrollment(deps, { userId: session.userId, email: session.email, issuer: deps.config.issuer, enrollmentId });
  return pending ? presentEnrollment(pending, deps.clock.now()) : null;
}
