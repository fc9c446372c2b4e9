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
import { performSecondFactorStep } from '../../login/second-step.ts';
import type { Deps } from '../../deps.ts';
import { errorCatalog } from '../../errors.ts';
import type { SecondFactor } from '../../factors/factor.ts';
import { findSecondFactor, METHOD_KINDS, SECOND_FACTOR_KINDS, SECOND_FACTORS } from '../../factors/registry.ts';
import { LOGIN_TEXT_KIND, sendLoginText } from '../../login/login-text.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { attemptedCode, CodeSchema, LoginMethodSchema } from '../api/login-verify-routes.ts';
import { clearSessionCookie, requireSession, setSessionCookie } from '../plugins/authentication.ts';
import { noteBrowserAfterLogin } from '../known-browser.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, secondFactorError, smsError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { setTrustedBrowserCookie } from '../trusted-browser-cookie.ts';
import { readTrustedBrowserDays } from '../../trusted-browsers/trusted-browsers.ts';
import { TRUST_BROWSER_FIELD } from '../views/trust-browser-field.ts';
import { Type } from 'typebox';
import { LOGIN_SMS_PATH, LOGIN_VERIFY_PATH, loginVerifyPath, renderLoginEnded, renderVerification, TEXT_NOT_SENT_MESSAGE, type VerificationOption } from '../views/two-factor-verification.ts';
import { formBodySchema, MALFORMED_FORM_MESSAGE, sendPage } from './form-input.ts';
import { secondFactorLockRetryAfter } from '../../factors/code-budget.ts';
import type { SafeHTML } from '../views/html.ts';
import { attemptsLeftText, secondFactorPausedMessage } from '../views/retry-time.ts';
import type { PageOptions } from './index.ts';
import { loginPath, safeNextPath } from './safe-next.ts';
import { refuseSMS } from './two-factor-sms.ts';

const CHALLENGE = { access: 'challenge' } as const;

/** The kind the page shows: the one asked for if the user can use it, else the user's first method. */
function readQuery(request: FastifyRequest, factors: VerificationFactors): { method: string; next: string | null } {
  const query = request.query as Record<string, unknown>;
  return { method: chooseMethod(query.method, factors), next: safeNextPath(query.next) };
}

function chooseMethod(asked: unknown, factors: VerificationFactors): string {
  const usable = factors.find((option) => option.kind === asked);
  // The user's first method in the registry's order (the app first); with none, the registry's first method.
  return usable?.kind ?? factors[0]?.kind ?? METHOD_KINDS[0]!;
}

/** Every way the half-logged-in user can finish: their methods (the session read carries them), then the fallback. */
type VerificationFactors = VerificationOption[];

async function loadFactors(deps: Deps, session: SessionContext): Promise<VerificationFactors> {
  const usable = SECOND_FACTORS.filter((factor) => factor.role === 'fallback' || session.methods.includes(factor.kind));
  return Promise.all(usable.map((factor) => optionOf(deps, session, factor)));
}

async function optionOf(deps: Deps, session: SessionContext, factor: SecondFactor): Promise<VerificationOption> {
  // A fallback is offered whether or not codes are left: a used-up one is refused like any wrong code (rule 32).
  const detail = factor.role === 'method' ? ((await factor.describe(deps, session.userId))?.detail ?? null) : null;
  return { kind: factor.kind, copy: factor.verification, codeShape: factor.codeShape, detail, begins: factor.beginLogin !== undefined };
}

/** Plain language for a pause whose length the budget decides, with the time it lifts. */
function lockedMessage(nowMs: number, retryAfterSeconds: number): string | SafeHTML {
  if (retryAfterSeconds < 60) return 'Too many attempts at once. Wait a moment and try again.';
  return secondFactorPausedMessage(nowMs, retryAfterSeconds);
}

/** A wrong code's words, with the tries this login has left (issue 17). */
function wrongCodeMessage(message: string, attemptsLeft: number): string {
  return `${message} ${attemptsLeftText(attemptsLeft)}`;
}

export async function loginVerifyPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps, cookie } = options;

  async function sendForm(reply: FastifyReply, status: number, factors: VerificationFactors, method: string, next: string | null, alert: string | SafeHTML | null): Promise<FastifyReply> {
    // `method` is a kind of the registry; one the user cannot use reads as their default.
    const current = factors.find((option) => option.kind === method) ?? factors.find((option) => option.kind === chooseMethod(null, factors))!;
    const trustedBrowserDays = await readTrustedBrowserDays(deps.db, requireSession(reply.request).accountId);
    return sendPage(reply, status, renderVerification({ current, options: factors, next, csrfToken: reply.generateCsrf(), alert, trustedBrowserDays }));
  }

  function sendEnded(reply: FastifyReply, next: string | null): FastifyReply {
    clearSessionCookie(reply, cookie);
    return sendPage(reply, errorCatalog.unauthenticated.status, renderLoginEnded(loginPath(next)));
  }

  app.get(LOGIN_VERIFY_PATH, { config: CHALLENGE, schema: { hide: true } }, async (request, reply) => {
    const factors = await loadFactors(deps, requireSession(request));
    const { method, next } = readQuery(request, factors);
    const textNotSent = factors.some((option) => option.kind === method && option.begins) && (request.query as Record<string, unknown>).text === 'unsent';
    // A paused second step says so before a code is typed, and when it lifts (issue 17).
    const paused = await secondFactorLockRetryAfter(deps, requireSession(request).userId);
    if (paused !== null) return sendForm(reply, 200, factors, method, next, lockedMessage(deps.clock.now(), paused));
    return sendForm(reply, 200, factors, method, next, textNotSent ? TEXT_NOT_SENT_MESSAGE : null);
  });

  // "Send a text message instead" and "Send another text": POST /api/v1/login/sms for the page.
  // The text goes to the number on record; nothing in the form chooses it (rule 18).
  app.post(LOGIN_SMS_PATH, { config: CHALLENGE, schema: { hide: true, body: formBodySchema({}) }, preHandler: verifyFormToken(app) }, async (request, reply) => {
    const session = requireSession(request);
    const next = safeNextPath((request.query as Record<string, unknown>).next);
    const outcome = await sendLoginText(deps, { tokenHash: session.tokenHash, userId: session.userId, accountId: session.accountId, createdAt: session.createdAt }, originOf(request));
    reply.header('cache-control', 'no-store');
    if (outcome.ok) return reply.redirect(loginVerifyPath(LOGIN_TEXT_KIND, next), 303);
    const error = smsError(outcome, 'login');
    if (error.code === 'unauthenticated') return sendEnded(reply, next);
    const refusal = refuseSMS(reply, error);
    const factors = await loadFactors(deps, session);
    return sendForm(reply, refusal.status, factors, chooseMethod(LOGIN_TEXT_KIND, factors), next, refusal.message);
  });

  app.post(
    LOGIN_VERIFY_PATH,
    {
      config: CHALLENGE,
      schema: { hide: true, body: formBodySchema({ method: LoginMethodSchema, code: CodeSchema, [TRUST_BROWSER_FIELD]: Type.Optional(Type.Literal('on')) }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const session = requireSession(request);
      const factors = await loadFactors(deps, session);
      const { method: shownMethod, next } = readQuery(request, factors);
      // As the API does: a body that fails the schema but carries a code for a known method is
      // still a guess, charged before it is refused (rule 33); anything else is just malformed.
      const attempt = request.validationError ? attemptedCode(request, SECOND_FACTOR_KINDS) : (request.body as { method: string; code: string; trustBrowser?: 'on' });
      if (!attempt) return sendForm(reply, 400, factors, shownMethod, next, MALFORMED_FORM_MESSAGE);
      const method = attempt.method;

      const trustBrowser = 'trustBrowser' in attempt && attempt.trustBrowser === 'on';
      const outcome = await performSecondFactorStep(deps, session, { method, code: attempt.code, trustBrowser }, originOf(request));
      if (outcome.ok) {
        setSessionCookie(reply, cookie, outcome.token, request.session?.createdAt);
        if (outcome.trustedBrowser) setTrustedBrowserCookie(reply, cookie, outcome.trustedBrowser, deps.clock.now());
        await noteBrowserAfterLogin(deps, request, reply, session);
        return reply.redirect(next ?? '/user', 303);
      }
      const error = secondFactorError(outcome, findSecondFactor(method)!.codeShape);
      if (error.code === 'too_many_attempts' && error.retryAfterSeconds !== undefined) {
        answerRetryAfter(reply, error);
        return sendForm(reply, error.status, factors, method, next, lockedMessage(deps.clock.now(), error.retryAfterSeconds));
      }
      if (error.code === 'unauthenticated') return sendEnded(reply, next);
      if (error.variant === 'no_sms_for_user') return sendForm(reply, error.status, factors, chooseMethod(null, factors), next, error.message);
      // A wrong or malformed code; the fifth of this login ended it and deleted its session.
      if ('loginEnded' in outcome && outcome.loginEnded) return sendEnded(reply, next);
      const attemptsLeft = 'attemptsLeft' in outcome ? outcome.attemptsLeft : null;
      // The user's budget ran out with this code: the step is paused now, and the page says until when.
      if (attemptsLeft === 0) {
        const paused = await secondFactorLockRetryAfter(deps, session.userId);
        if (paused !== null) return sendForm(reply, error.status, factors, method, next, lockedMessage(deps.clock.now(), paused));
      }
      const message = error.code === 'invalid_request' ? findSecondFactor(method)!.codePrompt : error.message;
      // Wrong, replayed and used-up codes read alike (rule 32).
      return sendForm(reply, error.status, factors, method, next, attemptsLeft === null ? message : wrongCodeMessage(message, attemptsLeft));
    },
  );
}
