/**
 * The page behind the admin's disable link (PRODUCT.md §2.6, SECURITY.md rules 22-24). Opening
 * it only peeks — mail scanners open links — and shows the password form with the button
 * "Disable Two Factor". Only the POST with the user's own password acts, and it logs no one in.
 * Expired, used and unknown links get one and the same 410 page saying what to do next.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog } from '../../errors.ts';
import { consumeDisableLink } from '../../factors/disable-link.ts';
import { peekLink } from '../../links/links.ts';
import { PasswordSchema, TokenParamSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { disableLinkError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { renderDisableLinkDone, renderDisableLinkExpired, renderDisableLinkForm } from '../views/disable-link.ts';
import { formBodySchema, formProblem, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { refusePasswordError } from './password-refusal.ts';

function tokenOf(request: FastifyRequest): string {
  return (request.params as { token: string }).token;
}

export async function disableLinkPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const expired = (reply: FastifyReply) => sendPage(reply, errorCatalog.link_expired.status, renderDisableLinkExpired());

  app.get('/2fa/disable/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    if (request.validationError || !(await peekLink(deps.db, deps.clock, 'disable_2fa', tokenOf(request)))) return expired(reply);
    return sendPage(reply, 200, renderDisableLinkForm(reply.generateCsrf(), tokenOf(request), null));
  });

  app.post(
    '/2fa/disable/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: formBodySchema({ password: PasswordSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const token = tokenOf(request);
      if (formProblem(request)) return sendPage(reply, 400, renderDisableLinkForm(reply.generateCsrf(), token, 'Enter your password.'));
      const { password } = readFields(request.body, ['password'] as const);
      const outcome = await consumeDisableLink(deps, token, password, originOf(request));
      if (outcome.ok) return sendPage(reply, 200, renderDisableLinkDone());
      const error = disableLinkError(outcome);
      if (error.code === 'link_expired') return expired(reply);
      const refusal = refusePasswordError(reply, error, 'That password is not right.');
      return sendPage(reply, refusal.status, renderDisableLinkForm(reply.generateCsrf(), token, refusal.message));
    },
  );
}
