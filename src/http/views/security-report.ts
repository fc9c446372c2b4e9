/**
 * The page behind a security notice's "This wasn't me" link (PRODUCT.md §2.12): "Was this not
 * you?" with the button "Secure my account" (the GET changes nothing), the one page for a link
 * that cannot be used, and the page once the account is secured.
 */
import { errorCatalog } from '../../errors.ts';
import { postForm } from './forms.ts';
import { html } from './html.ts';
import { renderBarePage } from './layout.ts';
import { FORGOT_PASSWORD_PATH } from './links.ts';

export const REPORT_PAGE_PATH = '/security/report/';

export function renderReportForm(csrfToken: string, token: string): string {
  return renderBarePage(
    'Was this not you?',
    html`<h1>Was this not you?</h1>
<p>If a security e-mail from Twofold told you about something you did not do, secure your account now. This will:</p>
<ul>
<li>sign out every session of your account, and its sign-ins to applications;</li>
<li>forget every browser trusted to skip the verification code;</li>
<li>remove the second factor the e-mail said was added, if it was about one;</li>
<li>block logging in with your current password until you choose a new one — we e-mail you a link for that;</li>
<li>tell your account administrators.</li>
</ul>
${postForm(`${REPORT_PAGE_PATH}${encodeURIComponent(token)}`, csrfToken, [], 'Secure my account', 'danger')}
<p class="aside">If it was you, leave this page: nothing changes unless you press the button.</p>`,
  );
}

export function renderReportExpired(): string {
  return renderBarePage(
    'Link expired',
    html`<h1>This link cannot be used</h1>
<p role="alert">${errorCatalog.link_expired.message}</p>
<p>These links work once and for 7 days. If your account was already secured from another e-mail, check your inbox for the link to choose a new password. Otherwise, reset your password from the login page and tell your account administrator.</p>
<p><a href="${FORGOT_PASSWORD_PATH}">Reset your password</a></p>`,
  );
}

export function renderReportDone(): string {
  return renderBarePage(
    'Your account is secured',
    html`<h1>Your account is secured</h1>
<p role="status">Every session of your account was signed out and your administrators were told. Logging in with your current password is blocked: we sent you an e-mail with a link to choose a new password.</p>`,
  );
}
