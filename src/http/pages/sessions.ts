/**
 * The Sessions section's buttons on User Details (PRODUCT.md §2.11): sign out one session, or
 * every other. Plain forms with CSRF tokens; each answers with a redirect back to the section.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../errors.ts';
import { signOutOtherSessions, signOutSession } from '../../sessions/session-list.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { requireSession } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { SESSIONS_PATH } from '../views/sessions-section.ts';
import { formBodySchema } from './form-input.ts';
import type { PageOptions } from './index.ts';

const BACK_TO_SECTION = '/user#sessions';

export async function sessionPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  app.post(`${SESSIONS_PATH}/sign-out-others`, { schema: { hide: true, body: formBodySchema({}) }, preHandler: verifyFormToken(app) }, async (request, reply) => {
    await signOutOtherSessions(deps, requireSession(request), originOf(request));
    return reply.redirect(BACK_TO_SECTION, 303);
  });

  app.post(
    `${SESSIONS_PATH}/:id/sign-out`,
    { schema: { hide: true, body: formBodySchema({}), params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' } }, required: ['id'], additionalProperties: false } }, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const outcome = await signOutSession(deps, requireSession(request), (request.params as { id: string }).id, originOf(request));
      if (!outcome.ok) throw new HttpError('not_found');
      return reply.redirect(BACK_TO_SECTION, 303);
    },
  );
}
