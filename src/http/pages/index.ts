/** Server-rendered pages. Each page group registers its routes here. */
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.ts';
import type { SessionCookie } from '../plugins/authentication.ts';
import { accountSettingsPages } from './account-settings.ts';
import { disableLinkPages } from './disable-link.ts';
import { emailVerificationPages } from './email-verification.ts';
import { changePasswordPages } from './change-password.ts';
import { twoFactorDisablePages } from './two-factor-disable.ts';
import { twoFactorRemoveMethodPages } from './two-factor-remove-method.ts';
import { linkPages } from './links.ts';
import { loginPages } from './login.ts';
import { loginVerifyPages } from './login-verify.ts';
import { outboxPages } from './outbox.ts';
import { reauthenticatePages } from './reauthenticate.ts';
import { securityLogPages } from './security-log.ts';
import { securityReportPages } from './security-report.ts';
import { sessionPages } from './sessions.ts';
import { settingsPages } from './settings.ts';
import { signupPages } from './signup.ts';
import { twoFactorAppPages } from './two-factor-app.ts';
import { twoFactorSMSPages } from './two-factor-sms.ts';
import { twoFactorSecurityKeyPages } from './two-factor-security-key.ts';
import { twoFactorRecoveryCodePages } from './two-factor-recovery-codes.ts';
import { userAdminPages } from './user-admin.ts';
import { userPages } from './user.ts';
import { trustedBrowserPages } from './trusted-browsers.ts';

export interface PageOptions {
  deps: Deps;
  cookie: SessionCookie;
}

export async function pageRoutes(app: FastifyInstance, options: PageOptions): Promise<void> {
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => reply.redirect(request.session ? '/user' : '/login', 303));
  await app.register(signupPages, options);
  await app.register(loginPages, options);
  await app.register(loginVerifyPages, options);
  await app.register(linkPages, options);
  await app.register(emailVerificationPages, options);
  await app.register(disableLinkPages, options);
  await app.register(twoFactorDisablePages, options);
  await app.register(twoFactorRemoveMethodPages, options);
  await app.register(userPages, options);
  await app.register(trustedBrowserPages, options);
  await app.register(changePasswordPages, options);
  await app.register(twoFactorAppPages, options);
  await app.register(twoFactorSMSPages, options);
  await app.register(twoFactorSecurityKeyPages, options);
  await app.register(twoFactorRecoveryCodePages, options);
  await app.register(reauthenticatePages, options);
  await app.register(accountSettingsPages, options);
  await app.register(settingsPages, options);
  await app.register(userAdminPages, options);
  await app.register(securityLogPages, options);
  await app.register(securityReportPages, options);
  await app.register(sessionPages, options);
  const outbox = options.deps.delivery.outbox;
  if (outbox) await app.register(outboxPages, { outbox });
}
