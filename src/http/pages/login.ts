/**
 * The login page's password step and logging out (PRODUCT.md §2.2). The password step is the
 * very function the API calls, so the page answers unknown email, wrong password and locked
 * user exactly as the API does (SECURITY.md rule 31): one message, one status.
 */
import type { FastifyInstance } from 'fastify';
import { errorCatalog } from '../../errors.ts';
import type { BeginOutcome } from '../../factors/factor.ts';
import { LOGIN_TEXT_KIND } from '../../login/login-text.ts';
import { performPasswordStep } from '../../login/password-step.ts';
import { revokeSession, type SessionContext } from '../../sessions/sessions.ts';
import { endBrowserApplicationSession } from '../../sessions/application-sessions.ts';
import { revocationReasonOf, revocationTexts } from '../../sessions/revocation.ts';
import { PROVIDER_SESSION_COOKIE } from '../../oidc/provider-paths.ts';
import { EmailSchema, PasswordSchema } from '../api/schemas.ts';
import { clearSessionCookie, requireSession, setSessionCookie } from '../plugins/authentication.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { html, type SafeHTML } from '../views/html.ts';
import { readTrustedBrowserSecret } from '../trusted-browser-cookie.ts';
import { noteBrowserAfterLogin } from '../known-browser.ts';
import { renderLoginPage } from '../views/login.ts';
import { tryAgainAt } from '../views/retry-time.ts';
import { loginVerifyPath } from '../views/two-factor-verification.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { refusePassword } from './password-refusal.ts';
import { loginPath, safeNextPath, SECOND_FACTOR_REQUIRED_PARAM, withSecondFactorRequired } from './safe-next.ts';

const fieldMessages: Record<string, string> = {
  email: 'Enter a valid email address.',
  password: 'Enter your password.',
};

function destinationAfterPassword(state: SessionContext['state'], next: string | null, begun: BeginOutcome | null): string {
  // An SMS-only user's text went out at the password step; if it could not, the page says so.
  if (state === 'password_only') {
    const textNotSent = begun !== null && !begun.ok;
    // No method: the page shows the user's default (their first method).
    return loginVerifyPath(textNotSent ? LOGIN_TEXT_KIND : null, next, textNotSent);
  }
  if (state === 'enrollment_required') return '/user';
  return next ?? '/user';
}

export async function loginPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps, cookie } = options;
  const signupEnabled = deps.config.signupEnabled;

  app.get('/login', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const next = safeNextPath((request.query as Record<string, unknown>).next);
    if (request.session?.state === 'complete') return reply.redirect(next ?? '/user', 303);
    // A cookie that names no session any more: say once why it ended, then forget it.
    const deadToken = request.session ? undefined : request.cookies[cookie.name];
    const signedOutBecause = deadToken ? await revocationReasonOf(deps.db, deps.clock, deps.config.policy.sessionAbsoluteMs, deadToken) : null;
    if (deadToken) clearSessionCookie(reply, cookie);
    const page = renderLoginPage({ csrfToken: reply.generateCsrf(), action: loginPath(next), email: '', error: null, signupEnabled, signedOutBecause: signedOutBecause && revocationTexts[signedOutBecause] });
    return sendPage(reply, 200, page);
  });

  app.post(
    '/login',
    {
      config: { access: 'public' },
      schema: { hide: true, body: formBodySchema({ email: EmailSchema, password: PasswordSchema }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const next = safeNextPath((request.query as Record<string, unknown>).next);
      // An application asked for a second factor (oidc-routes.ts step-up): the browser's trust is
      // not used. Anyone can add this to the address; it only ever makes the login stricter.
      const secondFactorRequired = (request.query as Record<string, unknown>)[SECOND_FACTOR_REQUIRED_PARAM] === 'required';
      const action = secondFactorRequired ? withSecondFactorRequired(loginPath(next)) : loginPath(next);
      const values = readFields(request.body, ['email', 'password'] as const);
      const again = (status: number, message: string | SafeHTML) => sendPage(reply, status, renderLoginPage({ csrfToken: reply.generateCsrf(), action, email: values.email, error: message, signupEnabled }));
      const problem = formProblem(request);
      if (problem) return again(400, (problem.field && fieldMessages[problem.field]) || MALFORMED_FORM_MESSAGE);

      const outcome = await performPasswordStep(deps, { ...values, trustedBrowserSecret: readTrustedBrowserSecret(request, cookie), secondFactorRequired }, originOf(request));
      if (!outcome.ok) {
        const refusal = refusePassword(reply, outcome, errorCatalog.invalid_credentials.message);
        // The password lock lifts by itself: say when (issue 17), as Retry-After already does.
        return again(refusal.status, outcome.reason === 'locked' ? html`${refusal.message} ${tryAgainAt(deps.clock.now(), outcome.retryAfterSeconds)}` : refusal.message);
      }
      // The browser's earlier session (or a planted token) ends here; the login always gets a fresh one.
      if (request.session) await revokeSession(deps.db, request.session.tokenHash);
      // So is its sign-in to applications: the new login may be someone else's.
      await endBrowserApplicationSession(deps.db, deps.delivery.queue, request.cookies[PROVIDER_SESSION_COOKIE], { unlessOf: outcome.user.id });
      setSessionCookie(reply, cookie, outcome.token);
      // A login completed by the password alone: announced if this browser is new to the user.
      if (outcome.state === 'complete') await noteBrowserAfterLogin(deps, request, reply, { userId: outcome.user.id, email: outcome.user.email, name: outcome.user.name });
      return reply.redirect(destinationAfterPassword(outcome.state, next, outcome.begun), 303);
    },
  );

  app.post(
    '/logout',
    { config: { access: 'any-session' }, schema: { hide: true, body: formBodySchema({}) }, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const session = requireSession(request);
      await revokeSession(deps.db, session.tokenHash);
      // …and this browser's sign-in to applications (OpenID Connect), who are told.
      await endBrowserApplicationSession(deps.db, deps.delivery.queue, request.cookies[PROVIDER_SESSION_COOKIE], { of: session.userId });
      clearSessionCookie(reply, cookie);
      return reply.redirect('/login', 303);
    },
  );
}
