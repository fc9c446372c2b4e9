/**
 * Recovery codes on a page (PRODUCT.md §2.7, SECURITY.md rule 16): shown once, right after a
 * factor is confirmed or the set is regenerated, in a no-store response. The page says plainly
 * that each code works once and that this is the only time they are shown.
 */
import { alertMessage, csrfField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';

export const RECOVERY_CODES_PATH = '/user/two-factor/recovery-codes';

export function renderRecoveryCodes(codes: readonly string[], notice: string): SafeHTML {
  return html`<h1>Recovery codes</h1>
${statusMessage(notice)}
<p>If you lose your phone, you can log in with one of these codes instead of a verification code. <strong>Each code works once.</strong></p>
<p>Save them now — in a password manager, or printed and kept somewhere safe. They are not shown again; you can make a new set from User Details, which stops these from working.</p>
<ol class="recovery-codes" aria-label="Your recovery codes">${codes.map((code) => html`<li><code>${code}</code></li>`)}</ol>
<p><a class="button primary" href="/user">Continue</a></p>`;
}

/**
 * After a second method was added: the user's recovery codes did not change (issue 13), and the
 * page says so, so nobody throws away the codes they saved.
 */
export function renderMethodAdded(notice: string): SafeHTML {
  return html`<h1>Two-factor authentication</h1>
${statusMessage(notice)}
<p>Your recovery codes have not changed: the codes you saved still work. You can make a new set from User Details, which stops the old ones from working.</p>
<p><a class="button primary" href="/user">Continue</a></p>`;
}

export interface RegenerateView {
  csrfToken: string;
  /** The password form, when the session's authentication is older than the policy allows. */
  passwordConfirmation: SafeHTML | null;
  alert?: string | null;
}

/** The step before regenerating: says what will happen, then asks for the password or the go-ahead. */
export function renderRegenerateRecoveryCodes(view: RegenerateView): SafeHTML {
  return html`<p class="breadcrumb"><a href="/user">User Details</a></p>
<h1>Regenerate recovery codes</h1>
${alertMessage(view.alert)}
<p>You get ten new recovery codes. Your current codes, used or not, stop working at once.</p>
${view.passwordConfirmation ?? html`<form method="post" action="${RECOVERY_CODES_PATH}" class="stacked">
${csrfField(view.csrfToken)}
<div><button type="submit" class="primary">Regenerate recovery codes</button></div>
</form>`}`;
}

/** Recovery codes need a second factor first: the page says so and leads back. */
export function renderRecoveryCodesNotEnabled(message: string): SafeHTML {
  return html`<h1>Recovery codes</h1>${alertMessage(message)}<p><a href="/user">Back to User Details</a></p>`;
}
