/**
 * SMS Message enrollment pages (PRODUCT.md §2.3 SMS Message): "Phone number" and "Verify", then
 * the texted code in "Confirm", then the recovery codes with "Continue" back to User Details.
 * Every route is at 'setup' level, like the Mobile App pages.
 *
 * They behave like POST /api/v1/me/2fa/sms and /sms/confirm (api/sms-routes.ts): the same
 * domain calls (startSMSEnrollment, confirmSMSEnrollment), the same checks in the same order
 * (no provider → refused; a user who already has a factor needs recent authentication, rules
 * 12 and 28), and the same answers — 400 for a number that cannot be texted, 429 with
 * Retry-After for the cooldown and the caps, 503 when the provider fails, 401 for a wrong code.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { parseSixDigitCode } from '../../factors/factor.ts';
import { errorCatalog, type HttpError } from '../../errors.ts';
import { confirmSMSEnrollment, startSMSEnrollment } from '../../factors/sms/enrollment.ts';
import { completeEnrollment } from '../../login/enrollment-step.ts';
import { CodeSchema } from '../api/login-verify-routes.ts';
import { setSessionCookie } from '../plugins/authentication.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, enrollmentConfirmationError, smsError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import type { SafeHTML } from '../views/html.ts';
import { renderSignedInPage, type LayoutUser } from '../views/layout.ts';
import { renderPasswordConfirmation } from '../views/password-confirmation.ts';
import { renderMethodAdded, renderRecoveryCodesPage } from '../views/two-factor-recovery-codes.ts';
import { CONFIRM_SMS_ENROLLMENT_PATH, renderPhoneForm, renderSMSConfirm, SMS_ENROLLMENT_PATH, START_SMS_ENROLLMENT_PATH } from '../views/two-factor-sms.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage, type FormRefusal } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { needsPasswordFirst } from './two-factor-app-enrollment.ts';

const SETUP = { access: 'setup' } as const;
const CODE_MESSAGE = 'Enter the six-digit code from the text message.';
const PHONE_MESSAGE = 'Enter your mobile number with + and the country code, for example +44 7400 123456.';
const PASSWORD_REASON = 'You already use two-factor authentication. Enter your password again before setting up a phone for text messages.';

function seconds(n: number): string {
  return n === 1 ? '1 second' : `${n} seconds`;
}

/**
 * A text that was not sent (outcome-errors.ts smsError), in the page's words: the API's status,
 * Retry-After and message, with the cooldown's wait spelled out. Never names the full number.
 */
export function refuseSMS(reply: FastifyReply, error: HttpError): FormRefusal {
  answerRetryAfter(reply, error);
  const message = error.variant === 'sms_cooldown' && error.retryAfterSeconds !== undefined ? `A code was texted a moment ago. Wait ${seconds(error.retryAfterSeconds)} before asking for another.` : error.message;
  return { status: error.status, message };
}

function sendSMSPage(reply: FastifyReply, status: number, layoutUser: LayoutUser, title: string, main: SafeHTML): FastifyReply {
  return sendPage(reply, status, renderSignedInPage(title, layoutUser, main));
}

function passwordFirst(layoutUser: LayoutUser): SafeHTML {
  return renderPasswordConfirmation({ csrfToken: layoutUser.csrfToken, next: SMS_ENROLLMENT_PATH, reason: PASSWORD_REASON, headingLevel: 2 });
}

export async function twoFactorSMSPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps, cookie } = options;

  app.get(SMS_ENROLLMENT_PATH, { config: SETUP, schema: { hide: true } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    const enrollmentRequired = session.state === 'enrollment_required';
    if (!deps.delivery.sms) {
      return sendSMSPage(reply, errorCatalog.sms_unavailable.status, layoutUser, 'SMS Message', renderPhoneForm({ csrfToken: layoutUser.csrfToken, alert: errorCatalog.sms_unavailable.message, passwordConfirmation: null, enrollmentRequired }));
    }
    // Shown before the step that needs it, and checked again when the enrollment starts.
    const stale = needsPasswordFirst(deps, session);
    return sendSMSPage(reply, 200, layoutUser, 'SMS Message', renderPhoneForm({ csrfToken: layoutUser.csrfToken, passwordConfirmation: stale ? passwordFirst(layoutUser) : null, enrollmentRequired }));
  });

  app.post(
    START_SMS_ENROLLMENT_PATH,
    { config: SETUP, schema: { hide: true, body: formBodySchema({ phone: Type.String({ minLength: 1, maxLength: 64 }) }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const enrollmentRequired = session.state === 'enrollment_required';
      const phoneForm = (status: number, alert: string, phone?: string, passwordConfirmation: SafeHTML | null = null) =>
        sendSMSPage(reply, status, layoutUser, 'SMS Message', renderPhoneForm({ csrfToken: layoutUser.csrfToken, alert, passwordConfirmation, enrollmentRequired, ...(phone === undefined ? {} : { phone }) }));

      const problem = formProblem(request);
      if (problem) return phoneForm(400, problem.field === 'phone' ? PHONE_MESSAGE : MALFORMED_FORM_MESSAGE);
      const { phone } = readFields(request.body, ['phone'] as const);
      // The API's order: no provider, then recent authentication for a user who has a factor.
      if (!deps.delivery.sms) return phoneForm(errorCatalog.sms_unavailable.status, errorCatalog.sms_unavailable.message);
      if (needsPasswordFirst(deps, session)) {
        return phoneForm(errorCatalog.reauthentication_required.status, errorCatalog.reauthentication_required.message, undefined, passwordFirst(layoutUser));
      }
      const outcome = await startSMSEnrollment(deps, session, phone, originOf(request));
      if (!outcome.ok) {
        const refusal = refuseSMS(reply, smsError(outcome, 'enrollment'));
        return phoneForm(refusal.status, refusal.message, phone);
      }
      reply.header('cache-control', 'no-store');
      return sendSMSPage(reply, 200, layoutUser, 'Enter the texted code', renderSMSConfirm({ csrfToken: layoutUser.csrfToken, phoneMasked: outcome.phoneMasked, enrollmentRequired }));
    },
  );

  app.post(
    CONFIRM_SMS_ENROLLMENT_PATH,
    { config: SETUP, schema: { hide: true, body: formBodySchema({ code: CodeSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const enrollmentRequired = session.state === 'enrollment_required';
      const retry = (status: number, alert: string) =>
        sendSMSPage(reply, status, layoutUser, 'Enter the texted code', renderSMSConfirm({ csrfToken: layoutUser.csrfToken, phoneMasked: null, alert, enrollmentRequired }));

      const problem = formProblem(request);
      if (problem) return retry(400, problem.field === 'code' ? CODE_MESSAGE : MALFORMED_FORM_MESSAGE);
      const code = parseSixDigitCode(readFields(request.body, ['code'] as const).code);
      if (code === null) return retry(400, CODE_MESSAGE);

      const outcome = await completeEnrollment(deps, session, confirmSMSEnrollment(deps, session, code, originOf(request)), originOf(request));
      if (!outcome.ok) {
        const error = enrollmentConfirmationError(outcome);
        return retry(error.status, error.message);
      }
      // The login that stopped at enrollment is complete now, under a new token (rule 9).
      if (outcome.newToken) setSessionCookie(reply, cookie, outcome.newToken, request.session?.createdAt);
      reply.header('cache-control', 'no-store');
      const notice = 'Two-factor authentication is on: your login now asks for a code we text to your phone.';
      if (!outcome.recoveryCodes) return sendSMSPage(reply, 200, layoutUser, 'Two-factor authentication', renderMethodAdded(notice));
      return sendPage(reply, 200, renderRecoveryCodesPage(layoutUser, { codes: outcome.recoveryCodes, notice, accountName: session.accountName, email: session.email, nowMs: deps.clock.now() }));
    },
  );
}
