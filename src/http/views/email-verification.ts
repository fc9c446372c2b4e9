/**
 * E-mail verification (issue 17): the page behind the e-mailed link — a button, because opening
 * the link must consume nothing (mail scanners open links) — and the banner signed-in pages show
 * until the address is verified.
 */
import { errorCatalog } from '../../errors.ts';
import { postForm } from './forms.ts';
import { html } from './html.ts';
import { renderBarePage } from './layout.ts';

export function emailVerificationPath(token: string): string {
  return `/email/verify/${token}`;
}

export function renderVerifyEmailPage(csrfToken: string, token: string): string {
  return renderBarePage(
    'Verify email address',
    html`<h1>Verify your email address</h1>
<p>Confirm that this email address is yours.</p>
${postForm(emailVerificationPath(token), csrfToken, [], 'Verify email address')}`,
  );
}

export function renderEmailVerified(signedIn: boolean): string {
  const next = signedIn ? html`<a class="button primary" href="/user">Go to User Details</a>` : html`<a class="button primary" href="/login">Log in</a>`;
  return renderBarePage('Email address verified', html`<h1>Email address verified</h1><p role="status">Thank you: your email address is verified.</p><p>${next}</p>`);
}

export function renderVerificationLinkExpired(): string {
  return renderBarePage(
    'Link expired',
    html`<h1>This link cannot be used</h1><p role="alert">${errorCatalog.link_expired.message}</p><p>Log in and choose "Resend verification e-mail" for a new link.</p><p><a href="/login">Go to the login page</a></p>`,
  );
}
