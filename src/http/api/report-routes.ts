/** "This wasn't me" through the API (PRODUCT.md §2.12, §3 "More API"): public, single use. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { reportSuspiciousActivity } from '../../reports/report.ts';
import { originOf } from '../request-origin.ts';
import { errorResponses, publicSecurity, TokenParamSchema } from './schemas.ts';

export async function reportRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.post(
    '/security/reports/:token',
    {
      config: { access: 'public' },
      schema: {
        tags: ['security'],
        summary: '"This wasn\'t me": secure the account a security notice was about (the token of its link)',
        description:
          'Works without a session, once. Signs out every session of the user (and their sign-ins to applications), ends their trusted browsers, removes the factor the notice announced as added, blocks password login until a password reset (a reset link is e-mailed), e-mails the account\'s administrators. It only takes access away. 410 link_expired for a used, expired or unknown link.',
        security: publicSecurity,
        params: TokenParamSchema,
        response: { 204: Type.Null(), ...errorResponses(400, 410) },
      },
    },
    async (request, reply) => {
      const outcome = await reportSuspiciousActivity(deps, request.params.token, originOf(request));
      if (!outcome.ok) throw new HttpError('link_expired');
      return reply.code(204).send(null);
    },
  );
}
