/**
 * The Two-Factor Authentication section of User Details (PRODUCT.md §2.3, §2.7): the methods
 * on offer while none is set up, and once 2FA is on, what is set up and the recovery codes.
 * Buttons that only open the next page are GET forms: opening a page changes nothing, and a
 * state change is always a POST behind its own page (SECURITY.md rule 26).
 */
import { html, type SafeHTML } from './html.ts';
import { APP_ENROLLMENT_PATH } from './two-factor-app.ts';
import { DISABLE_TWO_FACTOR_PATH } from './two-factor-disable.ts';
import { RECOVERY_CODES_PATH } from './two-factor-recovery-codes.ts';

export interface TwoFactorSection {
  methods: readonly string[];
  unusedRecoveryCodes: number;
}

function openButton(path: string, label: string, style: 'primary' | 'plain' = 'plain'): SafeHTML {
  return html`<form method="get" action="${path}" class="inline-action"><button type="submit"${style === 'primary' ? html` class="primary"` : ''}>${label}</button></form>`;
}

export function renderTwoFactorSection(section: TwoFactorSection): SafeHTML {
  if (section.methods.length === 0) {
    return html`<p>Add a second step to your login: after your password, you enter a code from your phone. Choose how to get the code:</p>
<div class="button-row">${openButton(APP_ENROLLMENT_PATH, 'Mobile App', 'primary')}</div>`;
  }
  const hasApp = section.methods.includes('totp');
  return html`${hasApp
    ? html`<h3>Mobile App</h3>
<p>Your authenticator app gives you the code at login. Moving to a new phone? Set it up there; the current app keeps working until the new one is confirmed.</p>
<div class="button-row">${openButton(APP_ENROLLMENT_PATH, 'Set up on a new phone')}</div>`
    : ''}
<h3>Recovery codes</h3>
<p>${section.unusedRecoveryCodes === 1 ? '1 unused recovery code left' : `${section.unusedRecoveryCodes} unused recovery codes left`}. Each one lets you log in once without your phone.</p>
<div class="button-row">${openButton(RECOVERY_CODES_PATH, 'Regenerate recovery codes')}</div>
<h3>Turn off</h3>
<p>Turning two-factor authentication off removes your authenticator app and recovery codes and signs you out everywhere.</p>
<div class="button-row">${openButton(DISABLE_TWO_FACTOR_PATH, 'Disable Two Factor')}</div>`;
}
