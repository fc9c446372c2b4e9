/**
 * Pages behind e-mailed links: forgot / reset password and accepting an invitation
 * (PRODUCT.md §2.1, §6 "Links"). Opening a link only peeks at it — mail scanners follow links —
 * and only the POST that sets the password uses it up. Expired, used and unknown tokens all get
 * the same 410 page. Neither flow logs anyone in: the next login still asks for every factor.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog } from '../../errors.ts';
import { peekLink, type LinkKind } from '../../links/links.ts';
import { requestPasswordReset, resetPassword } from '../../passwords/reset.ts';
import { passwordWeakness } from '../../passwords/policy.ts';
import { acceptInvitation } from '../../users/invitations.ts';
import { findUserById } from '../../users/users.ts';
import { EmailSchema, PasswordSchema, TokenParamSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { linkError, weakPasswordError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { FORGOT_PASSWORD_PATH, renderForgotPassword, renderForgotPasswordSent, renderInvitation, renderLinkDone, renderLinkExpired, renderResetPassword } from '../views/links.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';

/** The kinds of link these pages take; the disable link has its own page (disable-link.ts). */
type PageLinkKind = Extract<LinkKind, 'password_reset' | 'invitation'>;

function sendLinkExpired(reply: FastifyReply, kind: PageLinkKind): FastifyReply {
  return sendPage(reply, errorCatalog.link_expired.status, renderLinkExpired(kind));
}

function tokenOf(request: FastifyRequest): string {
  return (request.params as { token: string }).token;
}

export async function linkPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const passwordBody = formBodySchema({ password: PasswordSchema });

  app.get(FORGOT_PASSWORD_PATH, { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => sendPage(reply, 200, renderForgotPassword(reply.generateCsrf(), '', null)));

  app.post(
    FORGOT_PASSWORD_PATH,
    { config: { access: 'public' }, schema: { hide: true, body: formBodySchema({ email: EmailSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { email } = readFields(request.body, ['email'] as const);
      const problem = formProblem(request);
      if (problem) return sendPage(reply, 400, renderForgotPassword(reply.generateCsrf(), email, problem.field === 'email' ? 'Enter a valid email address.' : MALFORMED_FORM_MESSAGE));
      // Not awaited, as in the API: the answer and its timing must not depend on whether the email exists.
      requestPasswordReset(deps, email, originOf(request)).catch((error: unknown) => {
        request.log.error({ err: error instanceof Error ? error.message : String(error) }, 'password reset request failed');
      });
      return sendPage(reply, 200, renderForgotPasswordSent());
    },
  );

  app.get('/password/reset/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    const token = tokenOf(request);
    if (request.validationError || !(await peekLink(deps.db, deps.clock, 'password_reset', token))) return sendLinkExpired(reply, 'password_reset');
    return sendPage(reply, 200, renderResetPassword(reply.generateCsrf(), token, null));
  });

  app.post(
    '/password/reset/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: passwordBody }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const token = tokenOf(request);
      const again = (status: number, message: string) => sendPage(reply, status, renderResetPassword(reply.generateCsrf(), token, message));
      if (request.validationError?.validationContext === 'params') return sendLinkExpired(reply, 'password_reset');
      if (formProblem(request)) return again(400, errorCatalog.weak_password.message);
      const { password } = readFields(request.body, ['password'] as const);
      const weakness = passwordWeakness(deps.config.policy, password);
      if (weakness) return again(400, weakPasswordError(weakness).message);
      const outcome = await resetPassword(deps, token, password, originOf(request));
      if (!outcome.ok) {
        const error = linkError(outcome);
        if (error.code === 'link_expired') return sendLinkExpired(reply, 'password_reset');
        // Busy: the form may be sent again in a moment.
        reply.header('retry-after', '1');
        return again(error.status, error.message);
      }
      return sendPage(reply, 200, renderLinkDone('Password changed', 'Your password has been changed. Log in with your new password.'));
    },
  );

  app.get('/invitations/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    const token = tokenOf(request);
    const link = request.validationError ? null : await peekLink(deps.db, deps.clock, 'invitation', token);
    const user = link ? await findUserById(deps.db, link.userId) : undefined;
    if (!user) return sendLinkExpired(reply, 'invitation');
    return sendPage(reply, 200, renderInvitation(reply.generateCsrf(), token, user.email, null));
  });

  app.post(
    '/invitations/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: passwordBody }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const token = tokenOf(request);
      if (request.validationError?.validationContext === 'params') return sendLinkExpired(reply, 'invitation');
      const again = async (status: number, message: string) => {
        // The e-mail address is shown again only while the link is still good.
        const link = await peekLink(deps.db, deps.clock, 'invitation', token);
        const user = link ? await findUserById(deps.db, link.userId) : undefined;
        if (!user) return sendLinkExpired(reply, 'invitation');
        return sendPage(reply, status, renderInvitation(reply.generateCsrf(), token, user.email, message));
      };
      if (formProblem(request)) return again(400, errorCatalog.weak_password.message);
      const { password } = readFields(request.body, ['password'] as const);
      const weakness = passwordWeakness(deps.config.policy, password);
      if (weakness) return again(400, weakPasswordError(weakness).message);
      const outcome = await acceptInvitation(deps, token, password);
      if (!outcome.ok) {
        const error = linkError(outcome);
        if (error.code === 'link_expired') return sendLinkExpired(reply, 'invitation');
        reply.header('retry-after', '1');
        return again(error.status, error.message);
      }
      return sendPage(reply, 200, renderLinkDone('Password set', 'Your password is set. Log in to start using Twofold.'));
    },
  );
}
