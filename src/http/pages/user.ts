/**
 * User Details (PRODUCT.md §2.3). Reachable at 'setup' level: a session that must enrol a
 * second factor before going further lands here, and nowhere else. Its Two-Factor
 * Authentication section leads to the enrollment pages (two-factor-app.ts) and, once 2FA is
 * on, to regenerating recovery codes (two-factor-recovery-codes.ts).
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../errors.ts';
import { countUnusedRecoveryCodes } from '../../factors/recovery-codes/recovery-codes.ts';
import { findUserById } from '../../users/users.ts';
import { listUserSessions } from '../../sessions/session-list.ts';
import { renderUserDetailsPage } from '../views/user-details.ts';
import { sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { findSecondFactor, listConfirmedMethods } from '../../factors/registry.ts';
import { listSecurityKeys, WEBAUTHN_KIND } from '../../factors/webauthn/keys.ts';
import { relyingPartyOf } from '../../factors/webauthn/relying-party.ts';
import { listTrustedBrowsers } from '../../trusted-browsers/trusted-browsers.ts';

export async function userPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  app.get('/user', { config: { access: 'setup' }, schema: { hide: true } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    const user = await findUserById(deps.db, session.userId);
    if (!user) throw new HttpError('unauthenticated');
    // Only the methods the account's policy allows count: with none left, setup is offered (PRODUCT.md §2.9).
    const methods = (await listConfirmedMethods(deps.db, user)).filter((kind) => session.allowedMethods.includes(kind));
    const unusedRecoveryCodes = methods.length > 0 ? await countUnusedRecoveryCodes(deps.db, user.id) : 0;
    const phoneMasked = methods.includes('sms') ? ((await findSecondFactor('sms')!.describe(deps, user.id))?.detail ?? null) : null;
    const smsAvailable = deps.delivery.sms !== null;
    const page = renderUserDetailsPage(layoutUser, {
      name: user.name,
      email: user.email,
      role: user.role,
      accountName: session.accountName,
      mustEnrol: session.state === 'enrollment_required',
      passwordChanged: (request.query as Record<string, unknown> | undefined)?.password === 'changed',
      twoFactor: {
        methods,
        unusedRecoveryCodes,
        smsAvailable,
        phoneMasked,
        securityKeysOffered: relyingPartyOf(deps.config.publicURL).offered,
        securityKeys: methods.includes(WEBAUTHN_KIND) ? await listSecurityKeys(deps.db, user.id) : [],
        csrfToken: layoutUser.csrfToken,
        allowedMethods: session.allowedMethods,
      },
      trustedBrowsers: await listTrustedBrowsers(deps.db, deps.clock, session),
      // A session that must enrol sees setup only; its sessions list waits until it is complete.
      sessions: session.state === 'complete' ? await listUserSessions(deps.db, session) : [],
    });
    return sendPage(reply, 200, page);
  });
}
