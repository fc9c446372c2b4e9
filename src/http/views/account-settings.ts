/**
 * Account Information (PRODUCT.md §2.4): the account's name and the Security section with the
 * "Enforce Two-Factor Authentication (2FA)" switch — or, for a session that logged in a while
 * ago, the password form in its place (SECURITY.md rule 28).
 */
import type { Account } from '../../accounts/accounts.ts';
import { errorCatalog } from '../../errors.ts';
import { alertMessage, checkboxField, postForm, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';
import { renderPasswordConfirmation } from './password-confirmation.ts';

export const ACCOUNT_PATH = '/settings/account';
const ENFORCE_LABEL = 'Enforce Two-Factor Authentication (2FA)';

/** The 409 admin_2fa_required alert, with the way out: set up 2FA for yourself first. */
export const ADMIN_2FA_REQUIRED_ALERT = html`${errorCatalog.admin_2fa_required.message} <a href="/user">Set up two-factor authentication for yourself first</a>.`;

export interface AccountPageState {
  account: Account;
  recentlyAuthenticated: boolean;
  notice?: string | null;
  alert?: string | SafeHTML | null;
}

function renderSecuritySection(csrfToken: string, state: AccountPageState): SafeHTML {
  const enforced = state.account.enforce_2fa === 1;
  const control = state.recentlyAuthenticated
    ? postForm(ACCOUNT_PATH, csrfToken, checkboxField({ label: ENFORCE_LABEL, name: 'enforce2fa', checked: enforced, hint: 'Every user of this account must log in with a second factor. Users without one set it up at their next login.' }), 'Save Changes')
    : renderPasswordConfirmation({ csrfToken, next: ACCOUNT_PATH, reason: 'Changing this setting needs your password again, because you logged in a while ago.', headingLevel: 3 });
  return html`<section class="panel" aria-labelledby="security-heading">
<h2 id="security-heading">Security</h2>
${statusMessage(state.notice)}
${alertMessage(state.alert)}
<p>${ENFORCE_LABEL}: <strong class="${enforced ? 'status-on' : 'status-off'}">${enforced ? 'On' : 'Off'}</strong></p>
${control}
</section>`;
}

export function renderAccountSettingsPage(layoutUser: LayoutUser, state: AccountPageState): string {
  const main = html`<h1>Account Information</h1>
<dl class="details"><dt>Account name</dt><dd>${state.account.name}</dd></dl>
${renderSecuritySection(layoutUser.csrfToken, state)}`;
  return renderSignedInPage('Account Information', layoutUser, main);
}
