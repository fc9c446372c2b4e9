/**
 * Mobile App enrollment pages (PRODUCT.md §2.3, issue 3): choose the phone, scan the rotating
 * QR code, confirm with a code. Every route is at 'setup' level, so a session that must enrol
 * before going further (account enforcement) can do it here and nowhere else.
 *
 * They behave like POST /api/v1/me/2fa/totp and /totp/confirm: the same domain calls
 * (startTOTPEnrollment, confirmAuthenticatorApp), the same checks in the same order, and a
 * confirmation that completes an enrollment-required login sets the NEW session token (rule 9).
 * The rotation endpoint answers JSON for public/two-factor-enrollment.js; it is a page route,
 * so it takes the form's CSRF token as well as the Origin check (rule 26).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { parseSixDigitCode } from '../../factors/factor.ts';
import { confirmAuthenticatorApp } from '../../factors/totp/pending-enrollment.ts';
import { completeEnrollment } from '../../login/enrollment-step.ts';
import { CodeSchema } from '../api/login-verify-routes.ts';
import { EnrollmentIdSchema } from '../api/schemas.ts';
import { setSessionCookie } from '../plugins/authentication.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { enrollmentConfirmationError, errorBody, reauthenticationError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import type { SafeHTML } from '../views/html.ts';
import { renderSignedInPage, type LayoutUser } from '../views/layout.ts';
import { renderPasswordConfirmation } from '../views/password-confirmation.ts';
import {
  APP_ENROLLMENT_PATH,
  chooseOSPath,
  CONFIRM_ENROLLMENT_PATH,
  ENROLLMENT_SCRIPT,
  renderChooseOS,
  renderEnrollment,
  renderAlreadySetUp,
  renderEnrollmentRetry,
  ROTATE_ENROLLMENT_PATH,
  START_ENROLLMENT_PATH,
  type MobileOS,
} from '../views/two-factor-app.ts';
import { renderMethodAdded, renderRecoveryCodesPage } from '../views/two-factor-recovery-codes.ts';
import { COPY_SCRIPT } from '../views/copy-button.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { beginAppEnrollment, loadMethods, MobileOSSchema, needsPasswordFirst, readMobileOS, showAppEnrollmentAgain } from './two-factor-app-enrollment.ts';
import { hasPendingEnrollment } from '../../factors/totp/pending-enrollment.ts';

/** Enrollment ids are UUIDs; anything else is not looked up. */
const EnrollmentIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SETUP = { access: 'setup' } as const;
const CODE_MESSAGE = 'Enter the six-digit code your authenticator app shows.';
/** The page's words for 410 enrollment_expired: what happened and what to do, in one line. */
export const EXPIRED_QR_MESSAGE = 'This QR code has expired. Scan the new one.';
const PASSWORD_REASON = 'You already use two-factor authentication. Enter your password again before setting up a new phone.';

function passwordFirst(layoutUser: LayoutUser, os: MobileOS | null): SafeHTML {
  return renderPasswordConfirmation({ csrfToken: layoutUser.csrfToken, next: os ? chooseOSPath(os) : APP_ENROLLMENT_PATH, reason: PASSWORD_REASON, headingLevel: 3 });
}

function sendAppPage(reply: FastifyReply, status: number, layoutUser: LayoutUser, title: string, main: SafeHTML, withScript = false): FastifyReply {
  return sendPage(reply, status, renderSignedInPage(title, layoutUser, main, withScript ? [ENROLLMENT_SCRIPT, COPY_SCRIPT] : []));
}

export async function twoFactorAppPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps, cookie } = options;

  app.get(
    APP_ENROLLMENT_PATH,
    { config: SETUP, schema: { hide: true, querystring: Type.Object({ os: Type.Optional(MobileOSSchema) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const os = readMobileOS((request.query as { os?: string }).os);
      // Shown before the step that needs it, and checked again when the enrollment starts.
      const stale = os !== null && needsPasswordFirst(deps, session);
      return sendAppPage(reply, 200, layoutUser, 'Mobile App', renderChooseOS({ os, csrfToken: layoutUser.csrfToken, passwordConfirmation: stale ? passwordFirst(layoutUser, os) : null }));
    },
  );

  app.post(
    START_ENROLLMENT_PATH,
    { config: SETUP, schema: { hide: true, body: formBodySchema({ os: Type.Optional(MobileOSSchema) }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      if (formProblem(request)) return sendAppPage(reply, 400, layoutUser, 'Mobile App', renderChooseOS({ os: null, csrfToken: layoutUser.csrfToken, alert: 'Choose iPhone or Android.', passwordConfirmation: null }));
      const os = readMobileOS(readFields(request.body, ['os'] as const).os);
      const started = await beginAppEnrollment(deps, session);
      if (!started.ok) {
        const error = reauthenticationError(started);
        return sendAppPage(reply, error.status, layoutUser, 'Mobile App', renderChooseOS({ os, csrfToken: layoutUser.csrfToken, alert: error.message, passwordConfirmation: passwordFirst(layoutUser, os) }));
      }
      const main = renderEnrollment({ os, csrfToken: layoutUser.csrfToken, enrollment: started.enrollment, enrollmentRequired: session.state === 'enrollment_required' });
      return sendAppPage(reply, 200, layoutUser, 'Scan the QR code', main, true);
    },
  );

  // The script's timer calls this shortly before the pending secret expires. Starting again
  // voids the previous enrollment in the same write (rule 13), so the old QR code stops working.
  app.post(ROTATE_ENROLLMENT_PATH, { config: SETUP, schema: { hide: true, body: formBodySchema({}) }, preHandler: verifyFormToken(app) }, async (request, reply) => {
    const { session } = signedInPage(request, reply);
    const started = await beginAppEnrollment(deps, session);
    // The secret travels only in this body, never cached (rule 14).
    reply.header('cache-control', 'no-store');
    if (!started.ok) {
      const error = reauthenticationError(started);
      return reply.code(error.status).send(errorBody(error));
    }
    return reply.code(201).send(started.enrollment);
  });

  app.post(
    CONFIRM_ENROLLMENT_PATH,
    {
      config: SETUP,
      schema: { hide: true, body: formBodySchema({ enrollmentId: EnrollmentIdSchema, code: CodeSchema, os: Type.Optional(MobileOSSchema) }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const values = readFields(request.body, ['enrollmentId', 'code', 'os'] as const);
      const os = readMobileOS(values.os);
      // A wrong code keeps the QR code and key in view (issue 17): the enrollment is still pending.
      const retry = async (status: number, alert: string) => {
        const pending = EnrollmentIdPattern.test(values.enrollmentId) ? await showAppEnrollmentAgain(deps, session, values.enrollmentId) : null;
        if (pending) {
          const main = renderEnrollment({ os, csrfToken: layoutUser.csrfToken, enrollment: pending, alert, enrollmentRequired: session.state === 'enrollment_required' });
          return sendAppPage(reply, status, layoutUser, 'Scan the QR code', main, true);
        }
        return sendAppPage(reply, status, layoutUser, 'Enter the code from the app', renderEnrollmentRetry({ os, csrfToken: layoutUser.csrfToken, enrollmentId: values.enrollmentId, alert }));
      };

      const problem = formProblem(request);
      if (problem) return problem.field === 'code' ? retry(400, CODE_MESSAGE) : sendAppPage(reply, 400, layoutUser, 'Mobile App', renderChooseOS({ os, csrfToken: layoutUser.csrfToken, alert: MALFORMED_FORM_MESSAGE, passwordConfirmation: null }));
      const code = parseSixDigitCode(values.code);
      if (code === null) return retry(400, CODE_MESSAGE);

      const outcome = await completeEnrollment(deps, session, confirmAuthenticatorApp(deps, session, { enrollmentId: values.enrollmentId, code }, originOf(request)), originOf(request));
      if (!outcome.ok) {
        const error = enrollmentConfirmationError(outcome);
        if (error.code === 'invalid_code') return retry(error.status, error.message);
        // The recovery-codes page reloaded (the form posted again): this enrollment was confirmed
        // already, nothing is pending. Say so instead of "expired", and lead back (issue 17).
        if ((await loadMethods(deps, session)).includes('totp') && !(await hasPendingEnrollment(deps.db, session.userId))) {
          return sendAppPage(reply, 200, layoutUser, 'Mobile App', renderAlreadySetUp());
        }
        // Replaced or timed out (the page without JavaScript, or a confirmation racing a
        // rotation): say so, and show a fresh QR code straight away.
        const started = await beginAppEnrollment(deps, session);
        if (!started.ok) return sendAppPage(reply, error.status, layoutUser, 'Mobile App', renderChooseOS({ os, csrfToken: layoutUser.csrfToken, alert: EXPIRED_QR_MESSAGE, passwordConfirmation: passwordFirst(layoutUser, os) }));
        const main = renderEnrollment({ os, csrfToken: layoutUser.csrfToken, enrollment: started.enrollment, alert: EXPIRED_QR_MESSAGE, enrollmentRequired: session.state === 'enrollment_required' });
        return sendAppPage(reply, error.status, layoutUser, 'Scan the QR code', main, true);
      }
      // The login that stopped at enrollment is complete now, under a new token (rule 9).
      if (outcome.newToken) setSessionCookie(reply, cookie, outcome.newToken, request.session?.createdAt);
      reply.header('cache-control', 'no-store');
      const notice = 'Two-factor authentication is on: your login now asks for a code from the Mobile App.';
      if (!outcome.recoveryCodes) return sendAppPage(reply, 200, layoutUser, 'Two-factor authentication', renderMethodAdded(notice));
      return sendPage(reply, 200, renderRecoveryCodesPage(layoutUser, { codes: outcome.recoveryCodes, notice, accountName: session.accountName, email: session.email, nowMs: deps.clock.now() }));
    },
  );
}
