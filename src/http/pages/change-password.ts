/**
 * Change password on User Details (issue 17): the form page and its POST, through the same
 * function as `POST /api/v1/me/password`. A wrong current password spends the failed-password
 * budget (401, then 429 with Retry-After, as on the login page).
 */
import type { FastifyInstance } from 'fastify';
import { changePassword } from '../../passwords/change.ts';
import { PasswordSchema } from '../api/schemas.ts';
import { changePasswordError } from '../outcome-errors.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { CHANGE_PASSWORD_PATH, renderChangePasswordPage } from '../views/change-password.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { refusePasswordError } from './password-refusal.ts';
import { signedInPage } from './signed-in.ts';

export async function changePasswordPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  app.get(CHANGE_PASSWORD_PATH, { schema: { hide: true } }, async (request, reply) => {
    const { layoutUser } = signedInPage(request, reply);
    return sendPage(reply, 200, renderChangePasswordPage(layoutUser, null, null));
  });

  app.post(
    CHANGE_PASSWORD_PATH,
    { schema: { hide: true, body: formBodySchema({ currentPassword: PasswordSchema, newPassword: PasswordSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const problem = formProblem(request);
      if (problem) {
        const field = problem.field === 'currentPassword' || problem.field === 'newPassword' ? problem.field : null;
        const message = field === 'currentPassword' ? 'Enter your current password.' : field === 'newPassword' ? 'Enter a new password.' : MALFORMED_FORM_MESSAGE;
        return sendPage(reply, 400, renderChangePasswordPage(layoutUser, message, field));
      }
      const input = readFields(request.body, ['currentPassword', 'newPassword'] as const);
      const outcome = await changePassword(deps, session, input, originOf(request));
      if (outcome.ok) return reply.redirect('/user?password=changed', 303);
      const refusal = refusePasswordError(reply, changePasswordError(outcome), 'The current password is incorrect.');
      const field = outcome.reason === 'weak_password' ? 'newPassword' : outcome.reason === 'invalid_credentials' ? 'currentPassword' : null;
      return sendPage(reply, refusal.status, renderChangePasswordPage(layoutUser, refusal.message, field));
    },
  );
}
