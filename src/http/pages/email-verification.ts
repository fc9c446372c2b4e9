/**
 * E-mail verification pages (issue 17): the e-mailed link (GET shows a button and consumes
 * nothing; the POST verifies) and the banner's "Resend verification e-mail" button, which returns
 * to the page it was pressed on.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { peekLink } from '../../links/links.ts';
import { resendVerificationEmail, verifyEmail } from '../../users/email-verification.ts';
import { TokenParamSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { renderEmailVerified, renderVerificationLinkExpired, renderVerifyEmailPage } from '../views/email-verification.ts';
import { RESEND_VERIFICATION_PATH } from '../views/verification-banner.ts';
import { formBodySchema, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';

function tokenOf(request: FastifyRequest): string {
  return (request.params as { token: string }).token;
}

export async function emailVerificationPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  app.get('/email/verify/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    const token = tokenOf(request);
    if (request.validationError || !(await peekLink(deps.db, deps.clock, 'email_verification', token))) return sendPage(reply, 410, renderVerificationLinkExpired());
    return sendPage(reply, 200, renderVerifyEmailPage(reply.generateCsrf(), token));
  });

  app.post(
    '/email/verify/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: formBodySchema({}) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      if (request.validationError?.validationContext === 'params') return sendPage(reply, 410, renderVerificationLinkExpired());
      const outcome = await verifyEmail(deps, tokenOf(request));
      if (!outcome.ok) return sendPage(reply, 410, renderVerificationLinkExpired());
      return sendPage(reply, 200, renderEmailVerified(request.session !== null));
    },
  );

  app.post(RESEND_VERIFICATION_PATH, { config: { access: 'setup' }, schema: { hide: true, body: formBodySchema({}) }, attachValidation: true, preHandler: verifyFormToken(app) }, async (request, reply) => {
    const { session } = signedInPage(request, reply);
    const outcome = await resendVerificationEmail(deps, session.userId);
    // To User Details, whose banner says how it went (other pages refuse unknown query fields).
    return reply.redirect(`/user?verification=${outcome.ok ? 'sent' : 'wait'}`, 303);
  });
}
