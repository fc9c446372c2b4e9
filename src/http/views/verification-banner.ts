/**
 * The banner signed-in pages show until the user's address is verified (issue 17). Nothing is
 * blocked: it asks, and offers the resend button (capped per hour).
 */
import { csrfField } from './forms.ts';
import { html, type SafeHTML } from './html.ts';

export const RESEND_VERIFICATION_PATH = '/email/verification';

/** What the banner says after the resend button was pressed (a query flag on User Details). */
export type ResendState = 'sent' | 'wait' | null;

/** Until the address is verified, on every signed-in page. Nothing is blocked: it only asks. */
export function renderVerificationBanner(csrfToken: string, state: ResendState): SafeHTML {
  const after = state === 'sent' ? html` <span role="status">We sent a new link.</span>` : state === 'wait' ? html` <span role="alert">You asked for several e-mails already. Wait an hour and try again.</span>` : '';
  return html`<div class="banner notice" id="verify-email-banner">
<p>Please verify your email address: open the link we e-mailed you.${after}</p>
<form method="post" action="${RESEND_VERIFICATION_PATH}" class="inline">${csrfField(csrfToken)}<button type="submit" class="link">Resend verification e-mail</button></form>
</div>`;
}
