/**
 * User Details (PRODUCT.md §2.3): who the user is, and the Two-Factor Authentication section
 * (two-factor-section.ts) that leads to the enrollment pages. A session that must enrol before
 * going further is told so at the top.
 */
import { describeMethods, describeRole } from './descriptions.ts';
import { statusMessage } from './forms.ts';
import { html } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';
import { renderTwoFactorSection, type TwoFactorSection } from './two-factor-section.ts';
import { renderTrustedBrowsersSection, type TrustedBrowserRow } from './trusted-browsers.ts';
import { renderSessionsSection } from './sessions-section.ts';
import type { SessionListEntry } from '../../sessions/session-list.ts';

interface UserDetailsView {
  name: string;
  email: string;
  role: 'admin' | 'user';
  accountName: string;
  /** The account enforces 2FA and this user has no factor yet: setup is all they can reach. */
  mustEnrol: boolean;
  /** The page follows a password change (issue 17). */
  passwordChanged?: boolean;
  twoFactor: TwoFactorSection;
  /** Trusted browsers (PRODUCT.md §2.11): shown once the user has 2FA. */
  trustedBrowsers: readonly TrustedBrowserRow[];
  /** The Sessions section (sessions-section.ts); empty while the user must enrol first. */
  sessions: SessionListEntry[];
}

export function renderUserDetailsPage(layoutUser: LayoutUser, view: UserDetailsView): string {
  const { methods } = view.twoFactor;
  const main = html`<h1>User Details</h1>
${view.mustEnrol ? statusMessage('Your account administrator requires two-factor authentication. Set it up below to continue.') : ''}
<dl class="details">
<dt>Name</dt><dd>${view.name}</dd>
<dt>Email</dt><dd>${view.email}</dd>
<dt>Role</dt><dd>${describeRole(view.role)}</dd>
<dt>Account</dt><dd>${view.accountName}</dd>
</dl>
${view.passwordChanged ? statusMessage('Your password was changed. Your other sessions were signed out.') : ''}
${view.mustEnrol ? '' : html`<p><a href="/user/password">Change password</a></p>`}
<section class="panel" aria-labelledby="two-factor-heading">
<h2 id="two-factor-heading">Two-Factor Authentication</h2>
<p>Status: <strong class="${methods.length > 0 ? 'status-on' : 'status-off'}">${describeMethods(methods)}</strong></p>
<div class="two-factor-enrollment" id="two-factor-enrollment" data-methods="${methods.join(' ')}">
${renderTwoFactorSection(view.twoFactor)}
</div>
</section>
${methods.length > 0 || view.trustedBrowsers.length > 0 ? renderTrustedBrowsersSection(view.trustedBrowsers, view.twoFactor.csrfToken) : ''}
${view.sessions.length > 0 ? renderSessionsSection(view.sessions, view.twoFactor.csrfToken) : ''}`;
  return renderSignedInPage('User Details', layoutUser, main);
}
