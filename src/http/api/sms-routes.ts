/**
 * Codes by text message over the API (PRODUCT.md §2.2, §2.3 SMS Message, §3): starting and
 * confirming SMS enrollment, and asking for the login text again.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseSixDigitCode } from '../../factors/factor.ts';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { confirmSMSEnrollment, startSMSEnrollment } from '../../factors/sms/enrollment.ts';
import { completeEnrollment } from '../../login/enrollment-step.ts';
import { sendLoginText } from '../../login/login-text.ts';
import { findUserById } from '../../users/users.ts';
import { enrollmentConfirmationError, smsError } from '../outcome-errors.ts';
import { requireSession, type SessionCookie } from '../plugins/authentication.ts';
import { enrollmentNeedsReauthentication } from '../recent-authentication.ts';
import { originOf } from '../request-origin.ts';
import { CodeSchema } from './login-verify-routes.ts';
import { errorResponses, publicSecurity, sessionSecurity } from './schemas.ts';
import { answerCompletedEnrollment, RecoveryCodesSchema } from './two-factor-routes.ts';
import { requireAllowedMethod } from '../method-policy.ts';

const SentSchema = Type.Object({
  phoneMasked: Type.String({ description: 'The number the code went to, masked: +1 •••• ••• 4567' }),
  expiresAt: Type.String({ format: 'date-time', description: 'When the texted code stops working' }),
});

const WEAKER_METHOD_NOTE =
  'Text messages are the weaker second factor (SIM swaps and interception can expose the codes); the authenticator app (POST /me/2fa/totp) is the stronger choice and can be added beside SMS.';

export interface SMSRouteOptions {
  deps: Deps;
  cookie: SessionCookie;
}

export async function smsRoutes(parent: FastifyInstance, options: SMSRouteOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps, cookie } = options;

  app.post(
    '/me/2fa/sms',
    {
      config: { access: 'setup' },
      schema: {
        tags: ['2fa'],
        summary: 'Start SMS enrollment: texts a six-digit code to the phone number',
        description: `The number is given in international format (+ and the country code); any formatting is accepted. The code lives for 10 minutes; asking again for the same number resends (after 30 seconds, 429 with Retry-After before). Needs recent authentication (POST /me/reauthenticate), except for the setup an enforcing account requires at login. ${WEAKER_METHOD_NOTE}`,
        security: sessionSecurity,
        body: Type.Object({ phone: Type.String({ minLength: 1, maxLength: 64, description: 'Mobile number, for example +44 7400 123456' }) }, { additionalProperties: false }),
        response: { 202: SentSchema, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      if (!deps.delivery.sms) throw new HttpError('sms_unavailable');
      requireAllowedMethod(session, 'sms');
      const user = await findUserById(deps.db, session.userId);
      if (!user) throw new HttpError('unauthenticated');
      // A new phone is a new factor: a stolen, idle session must not add or move the codes (rules 12, 28).
      if (enrollmentNeedsReauthentication(deps, session)) throw new HttpError('reauthentication_required');
      const outcome = await startSMSEnrollment(deps, session, request.body.phone, originOf(request));
      if (!outcome.ok) throw smsError(outcome, 'enrollment');
      reply.header('cache-control', 'no-store');
      return reply.code(202).send({ phoneMasked: outcome.phoneMasked, expiresAt: new Date(outcome.expiresAt).toISOString() });
    },
  );

  app.post(
    '/me/2fa/sms/confirm',
    {
      config: { access: 'setup' },
      schema: {
        tags: ['2fa'],
        summary: 'Confirm SMS enrollment with the texted code',
        description: 'Answers ten recovery codes, shown once. Signs out your other sessions. When this completes a login that required enrollment, also answers the new session token. Wrong, expired and used codes all answer 401 invalid_code; five wrong codes use a code up.',
        security: sessionSecurity,
        body: Type.Object({ code: CodeSchema }, { additionalProperties: false }),
        response: { 200: Type.Object({ recoveryCodes: Type.Optional(RecoveryCodesSchema), token: Type.Optional(Type.String()) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const code = parseSixDigitCode(request.body.code);
      if (code === null) throw new HttpError('invalid_request', { variant: 'code_not_six_digits' });
      const outcome = await completeEnrollment(deps, session, confirmSMSEnrollment(deps, session, code, originOf(request)), originOf(request));
      if (!outcome.ok) throw enrollmentConfirmationError(outcome);
      return answerCompletedEnrollment(request, reply, cookie, outcome);
    },
  );

  app.post(
    '/login/sms',
    {
      config: { access: 'challenge' },
      schema: {
        tags: ['login'],
        summary: 'Text the login code (again)',
        description:
          'Send the token from POST /login (state mfa_required). For a user whose only method is SMS, POST /login already texted the first code. A new code voids the previous one; wrong codes entered so far still count. 429 with Retry-After within 30 seconds of the last text or past the hourly limits.',
        security: publicSecurity,
        response: { 202: SentSchema, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      // Nothing in the request chooses where the text goes (rule 18): like every API route without
      // a body schema it takes no fields at all (http/plugins/body-less-routes.ts).
      const outcome = await sendLoginText(deps, { tokenHash: session.tokenHash, userId: session.userId, accountId: session.accountId, createdAt: session.createdAt }, originOf(request));
      if (!outcome.ok) throw smsError(outcome, 'login');
      reply.header('cache-control', 'no-store');
      return reply.code(202).send({ phoneMasked: outcome.phoneMasked, expiresAt: new Date(outcome.expiresAt).toISOString() });
    },
  );
}
