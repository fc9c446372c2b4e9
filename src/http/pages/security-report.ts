/**
 * "This wasn't me" (PRODUCT.md §2.12, SECURITY.md rule 43): opening the link only peeks — mail
 * scanners open links — and shows the button "Secure my account"; only its POST acts, once,
 * without a session. Used, expired and unknown links get one and the same 410 page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog } from '../../errors.ts';
import { peekReport, reportSuspiciousActivity } from '../../reports/report.ts';
import { TokenParamSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { renderReportDone, renderReportExpired, renderReportForm } from '../views/security-report.ts';
import { formBodySchema, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';

function tokenOf(request: FastifyRequest): string {
  return (request.params as { token: string }).token;
}

export async function securityReportPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const expired = (reply: FastifyReply) => sendPage(reply, errorCatalog.link_expired.status, renderReportExpired());

  app.get('/security/report/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    if (request.validationError || !(await peekReport(deps, tokenOf(request)))) return expired(reply);
    return sendPage(reply, 200, renderReportForm(reply.generateCsrf(), tokenOf(request)));
  });

  app.post(
    '/security/report/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: formBodySchema({}) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      // A form with fields it does not have is not a use of the link: 400, the button again, nothing done.
      if (request.validationError?.validationContext === 'params') return expired(reply);
      if (request.validationError) return sendPage(reply, 400, renderReportForm(reply.generateCsrf(), tokenOf(request)));
      const outcome = await reportSuspiciousActivity(deps, tokenOf(request), originOf(request));
      return outcome.ok ? sendPage(reply, 200, renderReportDone()) : expired(reply);
    },
  );
}
