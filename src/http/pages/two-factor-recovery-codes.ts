/**
 * "Regenerate recovery codes" from User Details (PRODUCT.md §2.7, SECURITY.md rules 16, 28):
 * a page that says what will happen and asks for the password when the session's
 * authentication is not recent, then a POST that makes the new set and shows it once.
 * The POST checks as POST /api/v1/me/2fa/recovery-codes does, in the same order: recent
 * authentication first (403), then that 2FA is on at all (400).
 */
import { regenerateRecoveryCodes } from '../../factors/recovery-codes/regenerate.ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorCatalog } from '../../errors.ts';
import { isRecentlyAuthenticated, type SessionContext } from '../../sessions/sessions.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { renderSignedInPage, type LayoutUser } from '../views/layout.ts';
import { renderPasswordConfirmation } from '../views/password-confirmation.ts';
import { RECOVERY_CODES_PATH, renderRecoveryCodesNotEnabled, renderRecoveryCodesPage, renderRegenerateRecoveryCodes } from '../views/two-factor-recovery-codes.ts';
import { formBodySchema, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { loadMethods } from './two-factor-app-enrollment.ts';

const NOT_ENABLED_MESSAGE = 'Turn on two-factor authentication before making recovery codes.';

export async function twoFactorRecoveryCodePages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const recent = (session: SessionContext) => isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs);

  function sendRegeneratePage(reply: FastifyReply, status: number, session: SessionContext, layoutUser: LayoutUser, alert: string | null): FastifyReply {
    const passwordConfirmation = recent(session)
      ? null
      : renderPasswordConfirmation({ csrfToken: layoutUser.csrfToken, next: RECOVERY_CODES_PATH, reason: 'Making new recovery codes needs your password again, because you logged in a while ago.', headingLevel: 2 });
    const main = renderRegenerateRecoveryCodes({ csrfToken: layoutUser.csrfToken, passwordConfirmation, alert });
    return sendPage(reply, status, renderSignedInPage('Regenerate recovery codes', layoutUser, main));
  }

  function sendNotEnabled(reply: FastifyReply, layoutUser: LayoutUser): FastifyReply {
    return sendPage(reply, 400, renderSignedInPage('Recovery codes', layoutUser, renderRecoveryCodesNotEnabled(NOT_ENABLED_MESSAGE)));
  }

  app.get(RECOVERY_CODES_PATH, { schema: { hide: true } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    if ((await loadMethods(deps, session)).length === 0) return sendNotEnabled(reply, layoutUser);
    return sendRegeneratePage(reply, 200, session, layoutUser, null);
  });

  app.post(RECOVERY_CODES_PATH, { schema: { hide: true, body: formBodySchema({}) }, preHandler: verifyFormToken(app) }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    // Checked on the POST itself: the form having been shown proves nothing about this request.
    if (!recent(session)) return sendRegeneratePage(reply, errorCatalog.reauthentication_required.status, session, layoutUser, errorCatalog.reauthentication_required.message);
    if ((await loadMethods(deps, session)).length === 0) return sendNotEnabled(reply, layoutUser);
    const codes = await regenerateRecoveryCodes(deps, session, originOf(request));
    reply.header('cache-control', 'no-store');
    return sendPage(reply, 200, renderRecoveryCodesPage(layoutUser, { codes, notice: 'New recovery codes are ready. Your previous codes no longer work.', accountName: session.accountName, email: session.email, nowMs: deps.clock.now() }));
  });
}
