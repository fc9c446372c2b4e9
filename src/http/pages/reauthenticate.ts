/**
 * Re-entering the password before a sensitive action (PRODUCT.md §4 "recent authentication",
 * SECURITY.md rule 28). Pages embed the form (views/password-confirmation.ts) where their
 * action would be; it posts here, and a right password sends the browser back to that page.
 * Wrong passwords spend the login's per-email budget (login/reauthenticate.ts), so the
 * answers mirror the login page's: 401, then 429 with Retry-After.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { reauthenticateWithPassword } from '../../login/reauthenticate.ts';
import { PasswordSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import type { LayoutUser } from '../views/layout.ts';
import { REAUTHENTICATE_PATH, renderPasswordConfirmationPage } from '../views/password-confirmation.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { refusePassword } from './password-refusal.ts';
import { safeNextPath } from './safe-next.ts';
import { signedInPage } from './signed-in.ts';

const REASON = 'For your security, enter your password again before changing security settings.';

function sendConfirmationPage(reply: FastifyReply, status: number, layoutUser: LayoutUser, next: string, error: string | null): FastifyReply {
  return sendPage(reply, status, renderPasswordConfirmationPage(layoutUser, { next, reason: REASON, error }));
}

function nextFrom(query: unknown): string {
  return safeNextPath((query as Record<string, unknown> | undefined)?.next) ?? '/user';
}

export async function reauthenticatePages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  // 'setup': a session that became enrollment-only when enforcement was turned on confirms its
  // password here before it may enrol (rule 12); it reaches nothing more by doing so.
  app.get(REAUTHENTICATE_PATH, { config: { access: 'setup' }, schema: { hide: true } }, async (request, reply) => {
    const { layoutUser } = signedInPage(request, reply);
    return sendConfirmationPage(reply, 200, layoutUser, nextFrom(request.query), null);
  });

  app.post(
    REAUTHENTICATE_PATH,
    { config: { access: 'setup' }, schema: { hide: true, body: formBodySchema({ password: PasswordSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const next = nextFrom(request.query);
      const again = (status: number, message: string) => sendConfirmationPage(reply, status, layoutUser, next, message);
      const problem = formProblem(request);
      if (problem) return again(400, problem.field === 'password' ? 'Enter your password.' : MALFORMED_FORM_MESSAGE);

      const { password } = readFields(request.body, ['password'] as const);
      const outcome = await reauthenticateWithPassword(deps, session, password, originOf(request));
      if (outcome.ok) return reply.redirect(next, 303);
      const refusal = refusePassword(reply, outcome, 'The password is incorrect.');
      return again(refusal.status, refusal.message);
    },
  );
}
