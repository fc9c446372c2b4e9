/**
 * Account Information (PRODUCT.md §2.4): the account's name and the Security section with the
 * "Enforce Two-Factor Authentication (2FA)" switch — or, for a session that logged in a while
 * ago, the password form in its place (SECURITY.md rule 28).
 */
import type { Account } from '../../accounts/accounts.ts';
import { errorCatalog } from '../../errors.ts';
import { alertMessage, checkboxField, inputField, postForm, selectField, statusMessage } from './forms.ts';
import { WITHOUT_2FA_CSV_PATH, WITHOUT_2FA_PATH } from './users.ts';
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

/** Staged enforcement (PRODUCT.md §2.10): when and for whom, and who it affects. */
export interface StagedEnforcementView {
  /** `YYYY-MM-DD`, or '' for at once (also the value typed when the save was refused). */
  enforceFrom: string;
  enforceFor: 'everyone' | 'admins';
  /** Users it affects: how many, and the first of them by email. */
  usersWithoutTwoFactor: number;
  firstUsers: Array<{ email: string; name: string }>;
}

export interface AccountPageState {
  policy: MethodPolicyView;
  staged: StagedEnforcementView;
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
    ? postForm(ACCOUNT_PATH, csrfToken, [checkboxField({ label: ENFORCE_LABEL, name: 'enforce2fa', checked: enforced, hint: 'Every user of this account must log in with a second factor. Users without one set it up at their next login.' }), ...stagedFields(state.staged)], 'Save Changes')
    : renderPasswordConfirmation({ csrfToken, next: ACCOUNT_PATH, reason: 'Changing this setting needs your password again, because you logged in a while ago.', headingLevel: 3 });
  return html`<section class="panel" aria-labelledby="security-heading">
<h2 id="security-heading">Security</h2>
${statusMessage(state.notice)}
${alertMessage(state.alert)}
<p>${ENFORCE_LABEL}: <strong class="${enforced ? 'status-on' : 'status-off'}">${enforced ? 'On' : 'Off'}</strong></p>
${state.recentlyAuthenticated ? renderAffectedUsers(state.staged) : ''}
${control}
${state.recentlyAuthenticated ? renderPolicyForm(csrfToken, state.policy) : ''}
${state.recentlyAuthenticated && state.trustedBrowserDays !== undefined ? renderTrustedBrowserDaysForm(csrfToken, state.trustedBrowserDays) : ''}
</section>`;
}

/** "Enforce from" and "Apply to" (PRODUCT.md §2.10), saved with the switch by "Save Changes". */
function stagedFields(staged: StagedEnforcementView): SafeHTML[] {
  return [
    inputField({ label: 'Enforce from', name: 'enforceFrom', type: 'date', value: staged.enforceFrom, hint: 'Leave empty to enforce at once. Until this day (00:00 UTC) users without 2FA can still log in, see a reminder on every page and are e-mailed when you save, 7 days and 1 day before.' }),
    selectField({ label: 'Apply to', name: 'enforceFor', value: staged.enforceFor, options: [{ value: 'everyone', label: 'Everyone' }, { value: 'admins', label: 'Administrators only' }] }),
  ];
}

/** Who enforcement affects, shown before "Save Changes" turns it on: the count, the first users, the whole list and CSV. */
function renderAffectedUsers(staged: StagedEnforcementView): SafeHTML {
  const count = staged.usersWithoutTwoFactor;
  if (count === 0) return html`<p id="users-without-2fa">Every user it applies to has two-factor authentication.</p>`;
  const more = count > staged.firstUsers.length ? html`<li><a href="${WITHOUT_2FA_PATH}">and ${count - staged.firstUsers.length} more</a></li>` : '';
  return html`<div id="users-without-2fa">
<p><strong>${count === 1 ? '1 user does' : `${count} users do`} not have two-factor authentication yet</strong>${staged.enforceFor === 'admins' ? ' (administrators only)' : ''}: enforcement sends them to setup. <a href="${WITHOUT_2FA_PATH}">See the list</a> · <a href="${WITHOUT_2FA_CSV_PATH}">Download CSV</a></p>
<ul class="affected-users">${staged.firstUsers.map((user) => html`<li>${user.name} (${user.email})</li>`)}${more}</ul>
</div>`;
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
