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
import { renderTrustedBrowserDaysForm } from './trusted-browser-days.ts';

export const ACCOUNT_PATH = '/settings/account';
const ENFORCE_LABEL = 'Enforce Two-Factor Authentication (2FA)';

/** The 409 admin_2fa_required alert, with the way out: set up 2FA for yourself first. */
export const ADMIN_2FA_REQUIRED_ALERT = html`${errorCatalog.admin_2fa_required.message} <a href="/user">Set up two-factor authentication for yourself first</a>.`;

export const ACCOUNT_POLICY_PATH = '/settings/account/policy';
const METHOD_LABELS: ReadonlyArray<[kind: string, label: string]> = [
  ['totp', 'Mobile App'],
  ['sms', 'SMS Message'],
  ['webauthn', 'Security Key'],
];
export const PHISHING_RESISTANT_LABEL = 'Require a phishing-resistant method (security keys only)';

export interface MethodPolicyView {
  allowedMethods: readonly string[];
  requirePhishingResistant: boolean;
  /** Set when a change waits for confirmation: how many users it sends to setup. */
  pendingAffectedUsers?: number;
}

export interface AccountPageState {
  policy: MethodPolicyView;
  account: Account;
  recentlyAuthenticated: boolean;
  /** The account's trusted-browser days (PRODUCT.md §2.11). */
  trustedBrowserDays?: number;
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
${state.recentlyAuthenticated ? renderPolicyForm(csrfToken, state.policy) : ''}
${state.recentlyAuthenticated && state.trustedBrowserDays !== undefined ? renderTrustedBrowserDaysForm(csrfToken, state.trustedBrowserDays) : ''}
</section>`;
}

/**
 * "Allowed methods" (PRODUCT.md §2.9): a change that would send users to setup is shown with their
 * number first and saved only when confirmed.
 */
function renderPolicyForm(csrfToken: string, policy: MethodPolicyView): SafeHTML {
  const pending = policy.pendingAffectedUsers;
  const fields = html`<fieldset><legend>Allowed methods</legend>
${METHOD_LABELS.map(([kind, label]) => checkboxField({ label, name: `allow_${kind}`, checked: policy.allowedMethods.includes(kind) }))}
${checkboxField({ label: PHISHING_RESISTANT_LABEL, name: 'requirePhishingResistant', checked: policy.requirePhishingResistant, hint: 'App and text-message codes are then refused at login; recovery codes still work. You need a security key yourself.' })}
</fieldset>
${pending !== undefined ? html`<p class="alert" role="alert">This change sends ${pending === 1 ? '1 user' : `${pending} users`} to two-factor setup: they have no method it allows. Choose "Confirm Allowed Methods" to save it.</p><input type="hidden" name="confirm" value="yes">` : ''}`;
  return postForm(ACCOUNT_POLICY_PATH, csrfToken, fields, pending !== undefined ? 'Confirm Allowed Methods' : 'Save Allowed Methods');
}

export function renderAccountSettingsPage(layoutUser: LayoutUser, state: AccountPageState): string {
  const main = html`<h1>Account Information</h1>
<dl class="details"><dt>Account name</dt><dd>${state.account.name}</dd></dl>
${renderSecuritySection(layoutUser.csrfToken, state)}`;
  return renderSignedInPage('Account Information', layoutUser, main);
}
