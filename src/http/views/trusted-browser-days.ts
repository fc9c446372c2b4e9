/**
 * "Trusted browsers" in the Security section of Account Information (PRODUCT.md §2.11): how many
 * days a browser trusted at the Verification Code step skips the code (0 = off, at most 90).
 */
import { MAX_TRUSTED_BROWSER_DAYS } from '../../enforcement/account-policy.ts';
import { inputField, postForm } from './forms.ts';
import { html, type SafeHTML } from './html.ts';

export const TRUSTED_BROWSER_DAYS_PATH = '/settings/account/trusted-browsers';
export const TRUSTED_BROWSER_DAYS_MESSAGE = `Enter a whole number of days from 0 to ${MAX_TRUSTED_BROWSER_DAYS}.`;

export function renderTrustedBrowserDaysForm(csrfToken: string, days: number): SafeHTML {
  const fields = html`<fieldset><legend>Trusted browsers</legend>
${inputField({ label: 'Days a trusted browser skips the code', name: 'trustedBrowserDays', value: String(days), required: true, maxLength: 2, hint: `0 turns “Trust this browser” off; at most ${MAX_TRUSTED_BROWSER_DAYS}. A shorter setting applies at once to browsers already trusted. A trusted browser never skips the password, two-factor setup, a phishing-resistant requirement or an application that asks for a second factor.` })}
</fieldset>`;
  return postForm(TRUSTED_BROWSER_DAYS_PATH, csrfToken, fields, 'Save Trusted Browsers');
}
