/**
 * The signed-in user's own second factors (PRODUCT.md §2.3, §2.7, §3): authenticator-app
 * enrollment, recovery codes and re-authentication.
 */
import { regenerateRecoveryCodes } from '../../factors/recovery-codes/regenerate.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseSixDigitCode } from '../../factors/factor.ts';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { startTOTPEnrollment } from '../../factors/totp/pending-enrollment.ts';
import { completeEnrollment, type CompletedEnrollment } from '../../login/enrollment-step.ts';
import { confirmAuthenticatorApp } from '../../factors/totp/pending-enrollment.ts';
import { markReauthenticated, type SessionContext } from '../../sessions/sessions.ts';
import { enrollmentConfirmationError } from '../outcome-errors.ts';
import { requireSession, setSessionCookie, type SessionCookie } from '../plugins/authentication.ts';
import { enrollmentNeedsReauthentication, requireRecentAuthentication } from '../recent-authentication.ts';
import { originOf } from '../request-origin.ts';
import { IdentityProofSchema, requireIdentityProof } from './identity-proof.ts';
import { CodeSchema } from './login-verify-routes.ts';
import { EnrollmentIdSchema, errorResponses, sessionSecurity } from './schemas.ts';
import { listConfirmedMethods } from '../../factors/registry.ts';
import { requireAllowedMethod } from '../method-policy.ts';

export const RecoveryCodesSchema = Type.Array(Type.String({ description: 'xxxxx-xxxxx, single use' }), { description: 'Shown once; store them somewhere safe' });

/**
 * The answer to a confirmed factor, app or SMS: the recovery codes when this factor turned 2FA on
 * (a second method keeps the user's codes, so the field is absent), never cached, plus the new
 * token (and cookie) when the confirmation completed an enrollment-required login (rule 9).
 */
export function answerCompletedEnrollment(request: FastifyRequest, reply: FastifyReply, cookie: SessionCookie, outcome: CompletedEnrollment): { recoveryCodes?: string[]; token?: string } {
  reply.header('cache-control', 'no-store');
  const codes = outcome.recoveryCodes ? { recoveryCodes: outcome.recoveryCodes } : {};
  if (!outcome.newToken) return codes;
  if (request.sessionSource === 'cookie') setSessionCookie(reply, cookie, outcome.newToken, request.session?.createdAt);
  return { ...codes, token: outcome.newToken };
}

export interface TwoFactorRouteOptions {
  deps: Deps;
  cookie: SessionCookie;
}

export async function twoFactorRoutes(parent: FastifyInstance, options: TwoFactorRouteOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps, cookie } = options;

  async function loadMethods(session: SessionContext): Promise<string[]> {
    return listConfirmedMethods(deps.db, { id: session.userId });
  }

  app.post(
    '/me/2fa/totp',
    {
      config: { access: 'setup' },
      schema: {
        tags: ['2fa'],
        summary: 'Start (or rotate) authenticator-app enrollment',
        description:
          'Answers a new pending secret as an otpauth:// URI, the base32 secret and a QR code (SVG). It lives for 5 minutes; starting again voids it. Needs recent authentication (POST /me/reauthenticate), except for the setup an enforcing account requires at login. The current factor keeps working until the new one is confirmed.',
        security: sessionSecurity,
        response: {
          201: Type.Object({ enrollmentId: Type.String(), otpauthUri: Type.String(), secret: Type.String(), qrSvg: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      requireAllowedMethod(session, 'totp');
      // A factor planted or replaced by a stolen session takes the account over (rules 12, 28).
      if (enrollmentNeedsReauthentication(deps, session)) throw new HttpError('reauthentication_required');
      const started = await startTOTPEnrollment(deps, { userId: session.userId, email: session.email, issuer: deps.config.issuer, lifetimeMs: deps.config.policy.totpEnrollmentMs });
      // The secret travels only in this body, never cached (rule 14).
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ enrollmentId: started.enrollmentId, otpauthUri: started.otpauthURI, secret: started.secretBase32, qrSvg: started.qrSVG, expiresAt: new Date(started.expiresAt).toISOString() });
    },
  );

  app.post(
    '/me/2fa/totp/confirm',
    {
      config: { access: 'setup' },
      schema: {
        tags: ['2fa'],
        summary: 'Confirm authenticator-app enrollment with a code from the app',
        description: 'Answers ten recovery codes, shown once. Signs out your other sessions. When this completes a login that required enrollment, also answers the new session token.',
        security: sessionSecurity,
        body: Type.Object({ enrollmentId: EnrollmentIdSchema, code: CodeSchema }, { additionalProperties: false }),
        response: { 200: Type.Object({ recoveryCodes: Type.Optional(RecoveryCodesSchema), token: Type.Optional(Type.String()) }), ...errorResponses(400, 401, 403, 410) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const code = parseSixDigitCode(request.body.code);
      if (code === null) throw new HttpError('invalid_request', { variant: 'code_not_six_digits' });
      const outcome = await completeEnrollment(deps, session, confirmAuthenticatorApp(deps, session, { enrollmentId: request.body.enrollmentId, code }, originOf(request)), originOf(request));
      if (!outcome.ok) throw enrollmentConfirmationError(outcome);
      return answerCompletedEnrollment(request, reply, cookie, outcome);
    },
  );

  app.post(
    '/me/2fa/recovery-codes',
    {
      schema: {
        tags: ['2fa'],
        summary: 'Make a new set of recovery codes (the old set stops working)',
        description: 'Needs recent authentication (POST /me/reauthenticate).',
        security: sessionSecurity,
        response: { 200: Type.Object({ recoveryCodes: RecoveryCodesSchema }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      requireRecentAuthentication(deps, session);
      if ((await loadMethods(session)).length === 0) throw new HttpError('invalid_request', { variant: 'recovery_codes_need_2fa' });
      const recoveryCodes = await regenerateRecoveryCodes(deps, session, originOf(request));
      reply.header('cache-control', 'no-store');
      return { recoveryCodes };
    },
  );

  app.post(
    '/me/reauthenticate',
    {
      // Reachable from the enrollment-only state too: a session that became enrollment-only when
      // enforcement was turned on must re-enter its password before it may enrol (rule 12).
      config: { access: 'setup' },
      attachValidation: true,
      schema: {
        tags: ['me'],
        summary: 'Confirm it is still you, with your password or a current authenticator-app code',
        description: 'Sensitive actions need this within the last 15 minutes, and so does setting up a factor from a session that predates the account\'s enforcement. Wrong codes count against the same limit as at login.',
        security: sessionSecurity,
        body: IdentityProofSchema,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      await requireIdentityProof(deps, request, 'reauthenticate');
      await markReauthenticated(deps.db, deps.clock, requireSession(request).tokenHash);
      return reply.code(204).send(null);
    },
  );
}
