/**
 * The page behind the admin's disable link (PRODUCT.md §2.6): the password form with the button
 * "Disable Two Factor", the one page for a link that cannot be used, and the page once 2FA is off.
 */
import { errorCatalog } from '../../errors.ts';
import { alertMessage, inputField, postForm } from './forms.ts';
import { html } from './html.ts';
import { renderBarePage } from './layout.ts';

export function renderDisableLinkForm(csrfToken: string, token: string, error: string | null): string {
  return renderBarePage(
    'Turn off two-factor authentication',
    html`<h1>Turn off two-factor authentication</h1>
<p>Your administrator sent you this link because you may have lost the device you use for two-factor authentication. Enter your password to turn it off. Every session of your account will be signed out.</p>
${alertMessage(error)}
${postForm(`/2fa/disable/${encodeURIComponent(token)}`, csrfToken, inputField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024, invalid: error !== null }), 'Disable Two Factor', 'danger')}
<p class="aside">If you did not ask for this, leave this page: nothing changes unless your password is entered here.</p>`,
  );
}

export function renderDisableLinkExpired(): string {
  return renderBarePage(
    'Link expired',
    html`<h1>This link cannot be used</h1>
<p role="alert">${errorCatalog.link_expired.message}</p>
<p>Disable links work once and for 24 hours, and a newer link replaces older ones. Ask your account administrator to send a new one from Settings &gt; Users, or use one of your recovery codes to log in.</p>
<p><a href="/login">Go to the login page</a></p>`,
  );
}

export function renderDisableLinkDone(): string {
  return renderBarePage(
    'Two-factor authentication is off',
    html`<h1>Two-factor authentication is off</h1>
<p role="status">Your factors and recovery codes were removed and every session was signed out. We sent you an e-mail about it. If your account requires two-factor authentication, you will set it up again when you log in.</p>
<p><a class="button primary" href="/login">Log in</a></p>`,
  );
}
