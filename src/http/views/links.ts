/**
 * Pages behind e-mailed links (PRODUCT.md §2.1, §6 "Links"): forgot / reset password and
 * accepting an invitation, and the one page for every link that cannot be used.
 */
import { errorCatalog } from '../../errors.ts';
import { alertMessage, inputField, postForm } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderBarePage } from './layout.ts';

export const FORGOT_PASSWORD_PATH = '/password/forgot';

const PASSWORD_HINT = '8 to 128 characters.';

function newPasswordField(label: string, invalid: boolean): SafeHTML {
  return inputField({ label, name: 'password', type: 'password', autocomplete: 'new-password', required: true, minLength: 8, maxLength: 128, invalid, hint: PASSWORD_HINT });
}

/** Expired, used and unknown links read alike; the way out depends on the kind of link. */
export function renderLinkExpired(kind: 'password_reset' | 'invitation'): string {
  const way = kind === 'password_reset' ? html`<a href="/password/forgot">Ask for a new reset link</a>` : html`<a href="/login">Go to the login page</a>`;
  return renderBarePage('Link expired', html`<h1>This link cannot be used</h1><p role="alert">${errorCatalog.link_expired.message}</p><p>${way}</p>`);
}

export function renderLinkDone(title: string, message: string): string {
  return renderBarePage(title, html`<h1>${title}</h1><p role="status">${message}</p><p><a class="button primary" href="/login">Log in</a></p>`);
}

export function renderForgotPassword(csrfToken: string, email: string, error: string | null): string {
  return renderBarePage(
    'Forgot password',
    html`<h1>Forgot your password?</h1>
<p>Enter the email address you log in with. We will send you a link to choose a new password.</p>
${alertMessage(error)}
${postForm(FORGOT_PASSWORD_PATH, csrfToken, inputField({ label: 'Email', name: 'email', type: 'email', value: email, autocomplete: 'email', required: true, maxLength: 254, invalid: error !== null }), 'Send reset link')}
<p class="aside"><a href="/login">Back to the login page</a></p>`,
  );
}

export function renderForgotPasswordSent(): string {
  // The same words whether or not the address has an account: the page is no membership test.
  return renderBarePage(
    'Check your e-mail',
    html`<h1>Check your e-mail</h1>
<p role="status">If an account uses that address, we have sent it a link to choose a new password. The link works once, for 24 hours.</p>
<p><a href="/login">Back to the login page</a></p>`,
  );
}

export function renderResetPassword(csrfToken: string, token: string, error: string | null): string {
  return renderBarePage(
    'Choose a new password',
    html`<h1>Choose a new password</h1>
${alertMessage(error)}
${postForm(`/password/reset/${encodeURIComponent(token)}`, csrfToken, newPasswordField('New password', error !== null), 'Change password')}
<p class="aside">Changing your password logs you out everywhere. Your second factor stays as it is.</p>`,
  );
}

export function renderInvitation(csrfToken: string, token: string, email: string, error: string | null): string {
  return renderBarePage(
    'Join your team',
    html`<h1>Join your team</h1>
<p>Choose a password for <strong>${email}</strong>.</p>
${alertMessage(error)}
${postForm(`/invitations/${encodeURIComponent(token)}`, csrfToken, newPasswordField('Password', error !== null), 'Set password')}`,
  );
}
