/** The sign-up page (PRODUCT.md §2.1): a new account and its first administrator. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorCatalog, type ErrorCode } from '../../errors.ts';
import { EmailSchema, NameSchema, PasswordSchema } from '../api/schemas.ts';
import { revokeSession } from '../../sessions/sessions.ts';
import { setSessionCookie } from '../plugins/authentication.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, signupError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { renderErrorPage } from '../views/error-page.ts';
import { renderSignupPage } from '../views/signup.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import { signUpAccount } from '../../accounts/signup.ts';
import type { PageOptions } from './index.ts';

const FIELDS = ['accountName', 'name', 'email', 'password'] as const;

const fieldMessages: Record<string, string> = {
  accountName: 'Enter the name of your account, for example your company.',
  name: 'Enter your name.',
  email: 'Enter a valid email address.',
  password: errorCatalog.weak_password.message,
};

/** The field a refusal is about, marked invalid when the form comes back. */
const refusedFields: Partial<Record<ErrorCode, string>> = { weak_password: 'password', email_taken: 'email' };

function refuseDisabled(reply: FastifyReply, signedIn: boolean): FastifyReply {
  return sendPage(reply, errorCatalog.signup_disabled.status, renderErrorPage(errorCatalog.signup_disabled.status, errorCatalog.signup_disabled.message, signedIn));
}

export async function signupPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps, cookie } = options;

  app.get('/signup', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    if (!deps.config.signupEnabled) return refuseDisabled(reply, request.session !== null);
    return sendPage(reply, 200, renderSignupPage({ csrfToken: reply.generateCsrf(), values: {}, error: null }));
  });

  app.post(
    '/signup',
    {
      config: { access: 'public' },
      schema: { hide: true, body: formBodySchema({ accountName: NameSchema, name: NameSchema, email: EmailSchema, password: PasswordSchema }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      if (!deps.config.signupEnabled) return refuseDisabled(reply, request.session !== null);
      const values = readFields(request.body, FIELDS);
      const again = (status: number, message: string, field?: string) => sendPage(reply, status, renderSignupPage({ csrfToken: reply.generateCsrf(), values, error: { message, field } }));
      const problem = formProblem(request);
      if (problem) return again(400, (problem.field && fieldMessages[problem.field]) || MALFORMED_FORM_MESSAGE, problem.field ?? undefined);

      const outcome = await signUpAccount(deps, values, originOf(request));
      if (!outcome.ok) {
        const error = signupError(outcome);
        if (error.code === 'signup_disabled') return refuseDisabled(reply, request.session !== null);
        answerRetryAfter(reply, error);
        return again(error.status, error.message, refusedFields[error.code]);
      }
      // Whoever was signed in on this browser before is signed out: the new admin takes over.
      if (request.session) await revokeSession(deps.db, request.session.tokenHash);
      setSessionCookie(reply, cookie, outcome.token);
      return reply.redirect('/user', 303);
    },
  );
}
