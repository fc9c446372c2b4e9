/**
 * The "Security Key" pages (PRODUCT.md §2.9): the setup page (the registration itself runs in
 * the browser against POST /api/v1/me/2fa/webauthn/options and /me/2fa/webauthn), and "Remove"
 * on User Details, a POST behind the CSRF token that needs a recent authentication (rule 36).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { removeSecurityKey } from '../../factors/webauthn/keys.ts';
import { relyingPartyOf } from '../../factors/webauthn/relying-party.ts';
import { isRecentlyAuthenticated } from '../../sessions/sessions.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { enrollmentNeedsReauthentication } from '../recent-authentication.ts';
import { originOf } from '../request-origin.ts';
import { reauthenticatePath } from '../views/password-confirmation.ts';
import { renderSecurityKeyPage, SECURITY_KEY_PATH } from '../views/two-factor-security-key.ts';
import { formBodySchema, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';

export async function twoFactorSecurityKeyPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const rp = relyingPartyOf(deps.config.publicURL);

  app.get(SECURITY_KEY_PATH, { config: { access: 'setup' }, schema: { hide: true } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    if (!rp.offered) return sendPage(reply, 400, renderSecurityKeyPage(layoutUser, { reauthenticateHref: null, alert: 'Security keys are not available on this server.' }));
    const reauthenticateHref = enrollmentNeedsReauthentication(deps, session) ? reauthenticatePath(SECURITY_KEY_PATH) : null;
    return sendPage(reply, 200, renderSecurityKeyPage(layoutUser, { reauthenticateHref }));
  });

  app.post(
    `${SECURITY_KEY_PATH}/:id/remove`,
    { schema: { hide: true, params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }), body: formBodySchema({}) }, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session } = signedInPage(request, reply);
      if (!isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs)) return reply.redirect(reauthenticatePath('/user'), 303);
      const { id } = request.params as { id: string };
      await removeSecurityKey(deps, session, id, originOf(request));
      // Not found and "your only method" both leave the list as it was; User Details shows it.
      return reply.redirect('/user', 303);
    },
  );
}
