/**
 * "Remove" and "Remove all" of the Trusted browsers section on User Details (PRODUCT.md §2.11),
 * the pages' counterparts of DELETE /me/trusted-browsers/{id} and DELETE /me/trusted-browsers.
 * Removing trust only takes access away, so no recent authentication is asked.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { endAllTrustedBrowsers, removeTrustedBrowser } from '../../trusted-browsers/trusted-browsers.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { REMOVE_ALL_TRUSTED_BROWSERS_PATH, TRUSTED_BROWSERS_PATH } from '../views/trusted-browsers.ts';
import { formBodySchema } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';

export async function trustedBrowserPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  app.post(
    `${TRUSTED_BROWSERS_PATH}/:id/remove`,
    { schema: { hide: true, params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }), body: formBodySchema({}) }, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session } = signedInPage(request, reply);
      const { id } = request.params as { id: string };
      // One already gone (another tab removed it) leaves the list as it is; User Details shows it.
      await removeTrustedBrowser(deps.db, deps.clock, session, id, originOf(request));
      return reply.redirect('/user', 303);
    },
  );

  app.post(REMOVE_ALL_TRUSTED_BROWSERS_PATH, { schema: { hide: true, body: formBodySchema({}) }, preHandler: verifyFormToken(app) }, async (request, reply) => {
    const { session } = signedInPage(request, reply);
    const origin = originOf(request);
    await deps.db.transaction().execute((trx) => endAllTrustedBrowsers(trx, deps.clock, session, 'removed_all', { origin }));
    return reply.redirect('/user', 303);
  });
}
