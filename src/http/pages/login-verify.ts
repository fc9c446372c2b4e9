/**
 * The Verification Code page (PRODUCT.md §2.2 step 2): the second step of a login, at the
 * guard's 'challenge' level — only a half-authenticated session reaches it.
 *
 * The POST is performSecondFactorStep, the very function behind POST /api/v1/login/verify, so
 * the page keeps the API's limits and order (five wrong codes per login, ten per user in 15
 * minutes, each charged before the code is checked) and its answers: 401 with one generic
 * message for every wrong code, 429 with Retry-After when locked, 400 for a code that cannot
 * be one (still counted as a guess, rule 33). On success the session lives on under a NEW
 * token (rule 9), set as the cookie before the browser moves on.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { performSecondFactorStep } from '../../challenges/second-factor-step.ts';
import type { Deps } from '../../deps.ts';
import { errorCatalog } from '../../errors.ts';
import { describeSMSFactor, sendLoginSMS } from '../../factors/sms/login-sms.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { attemptedCode, CodeSchema } from '../api/login-verify-routes.ts';
import { clearSessionCookie, requireSession, setSessionCookie } from '../plugins/authentication.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, secondFactorError, smsError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { LOGIN_SMS_PATH, LOGIN_VERIFY_PATH, loginVerifyPath, renderLoginEnded, renderVerification, TEXT_NOT_SENT_MESSAGE, type VerificationFactors, type VerificationMethod } from '../views/two-factor-verification.ts';
import { formBodySchema, MALFORMED_FORM_MESSAGE, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { loginPath, safeNextPath } from './safe-next.ts';
import { refuseSMS } from './two-factor-sms.ts';

const CHALLENGE = { access: 'challenge' } as const;

const malformedMessages: Record<VerificationMethod, string> = {
  totp: 'Enter the six-digit code from your authenticator app.',
  sms: 'Enter the six-digit code from the text message.',
  recovery: 'Enter a recovery code like xxxxx-xxxxx.',
};

/** The method the page shows: the one asked for if the user has it, else the app, else the text. */
function readQuery(request: FastifyRequest, factors: VerificationFactors): { method: VerificationMethod; next: string | null } {
  const query = request.query as Record<string, unknown>;
  return { method: chooseMethod(query.method, factors), next: safeNextPath(query.next) };
}

function chooseMethod(asked: unknown, factors: VerificationFactors): VerificationMethod {
  if (asked === 'recovery') return 'recovery';
  if (asked === 'sms' && factors.phoneMasked !== null) return 'sms';
  if (asked === 'totp' && factors.app) return 'totp';
  return factors.app || factors.phoneMasked === null ? 'totp' : 'sms';
}

/** Which second factors the half-logged-in user has; the session read already carries the methods. */
async function loadFactors(deps: Deps, session: SessionContext): Promise<VerificationFactors> {
  const sms = session.methods.includes('sms') ? await describeSMSFactor(deps, session.userId) : null;
  return { app: session.methods.includes('totp'), phoneMasked: sms?.phoneMasked ?? null };
}

/** Plain language for a pause whose length the budget decides. */
function lockedMessage(retryAfterSeconds: number): string {
  if (retryAfterSeconds < 60) return 'Too many attempts at once. Wait a moment and try again.';
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return `Too many wrong codes. For your security, codes are not accepted for ${minutes === 1 ? '1 minute' : `${minutes} minutes`}. Try again later.`;
}

/** Whether the session still exists: the fifth wrong code ends the login and deletes it. */
async function sessionEnded(deps: Pick<Deps, 'db'>, session: SessionContext): Promise<boolean> {
  const row = await deps.db.selectFrom('sessions').select('token_hash').where('token_hash', '=', session.tokenHash).executeTakeFirst();
  return row === undefined;
}

export async function loginVerifyPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps, cookie } = options;

  function sendForm(reply: FastifyReply, status: number, factors: VerificationFactors, method: VerificationMethod, next: string | null, alert: string | null): FastifyReply {
    return sendPage(reply, status, renderVerification({ method, next, csrfToken: reply.generateCsrf(), factors, alert }));
  }

  function sendEnded(reply: FastifyReply, next: string | null): FastifyReply {
    clearSessionCookie(reply, cookie);
    return sendPage(reply, errorCatalog.unauthenticated.status, renderLoginEnded(loginPath(next)));
  }

  app.get(LOGIN_VERIFY_PATH, { config: CHALLENGE, schema: { hide: true } }, async (request, reply) => {
    const factors = await loadFactors(deps, requireSession(request));
    const { method, next } = readQuery(request, factors);
    const textNotSent = method === 'sms' && (request.query as Record<string, unknown>).text === 'unsent';
    return sendForm(reply, 200, factors, method, next, textNotSent ? TEXT_NOT_SENT_MESSAGE : null);
  });

  // "Send a text message instead" and "Send another text": POST /api/v1/login/sms for the page.
  // The text goes to the number on record; nothing in the form chooses it (rule 18).
  app.post(LOGIN_SMS_PATH, { config: CHALLENGE, schema: { hide: true, body: formBodySchema({}) }, preHandler: verifyFormToken(app) }, async (request, reply) => {
    const session = requireSession(request);
    const next = safeNextPath((request.query as Record<string, unknown>).next);
    const outcome = await sendLoginSMS(deps, { tokenHash: session.tokenHash, userId: session.userId, accountId: session.accountId, createdAt: session.createdAt }, originOf(request));
    reply.header('cache-control', 'no-store');
    if (outcome.ok) return reply.redirect(loginVerifyPath('sms', next), 303);
    const error = smsError(outcome, 'login');
    if (error.code === 'unauthenticated') return sendEnded(reply, next);
    const refusal = refuseSMS(reply, error);
    const factors = await loadFactors(deps, session);
    return sendForm(reply, refusal.status, factors, chooseMethod('sms', factors), next, refusal.message);
  });

  app.post(
    LOGIN_VERIFY_PATH,
    {
      config: CHALLENGE,
      schema: { hide: true, body: formBodySchema({ method: Type.Union([Type.Literal('totp'), Type.Literal('sms'), Type.Literal('recovery')]), code: CodeSchema }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const session = requireSession(request);
      const factors = await loadFactors(deps, session);
      const { method: shownMethod, next } = readQuery(request, factors);
      // As the API does: a body that fails the schema but carries a code for a known method is
      // still a guess, charged before it is refused (rule 33); anything else is just malformed.
      const attempt = request.validationError ? attemptedCode(request, ['totp', 'sms', 'recovery']) : (request.body as { method: VerificationMethod; code: string });
      if (!attempt) return sendForm(reply, 400, factors, shownMethod, next, MALFORMED_FORM_MESSAGE);
      const method = attempt.method as VerificationMethod;

      const outcome = await performSecondFactorStep(deps, session, { method, code: attempt.code }, originOf(request));
      if (outcome.ok) {
        setSessionCookie(reply, cookie, outcome.token);
        return reply.redirect(next ?? '/user', 303);
      }
      const error = secondFactorError(outcome, method);
      if (error.code === 'too_many_attempts' && error.retryAfterSeconds !== undefined) {
        answerRetryAfter(reply, error);
        return sendForm(reply, error.status, factors, method, next, lockedMessage(error.retryAfterSeconds));
      }
      if (error.code === 'unauthenticated') return sendEnded(reply, next);
      if (error.variant === 'no_sms_for_user') return sendForm(reply, error.status, factors, chooseMethod(null, factors), next, error.message);
      // A wrong or malformed code; the fifth of this login ended it and deleted its session.
      if (await sessionEnded(deps, session)) return sendEnded(reply, next);
      if (error.code === 'invalid_request') return sendForm(reply, error.status, factors, method, next, malformedMessages[method]);
      // Wrong, replayed and used-up codes read alike (rule 32).
      return sendForm(reply, error.status, factors, method, next, error.message);
    },
  );
}
