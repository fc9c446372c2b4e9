/** The "Disable Two Factor" page of User Details (PRODUCT.md §2.5). */
import { alertMessage, inputField, postForm } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { codeField } from './two-factor-code-field.ts';

export const DISABLE_TWO_FACTOR_PATH = '/user/two-factor/disable';

/** What goes, naming only the methods this user has (an SMS-only user is never told about an app). */
function whatGoes(methods: readonly string[]): string {
  const parts = [
    methods.includes('totp') ? 'your authenticator app' : null,
    methods.includes('sms') ? 'your text-message phone number' : null,
    methods.includes('webauthn') ? 'your security keys' : null,
    'your recovery codes',
  ].filter((part): part is string => part !== null);
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}`;
}

/** `methods`: the user's methods; a current code is offered only with the authenticator app (the proof the API takes). */
export function renderDisableTwoFactor(csrfToken: string, alert: string | null, methods: readonly string[]): SafeHTML {
  return html`<p class="breadcrumb"><a href="/user">User Details</a></p>
<h1>Disable Two Factor</h1>
<p>This removes ${whatGoes(methods)}, and signs you out everywhere else. Your account is then protected by your password alone.</p>
${alertMessage(alert)}
${postForm(DISABLE_TWO_FACTOR_PATH, csrfToken, inputField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024, invalid: alert !== null }), 'Disable Two Factor', 'danger')}
${methods.includes('totp')
    ? html`<details class="alternative"><summary>Use a code from your authenticator app instead</summary>
${postForm(DISABLE_TWO_FACTOR_PATH, csrfToken, codeField({ label: 'Verification code', name: 'code', id: 'disable-code', kind: 'digits', hint: 'The 6-digit code your app shows now.' }), 'Disable with this code', 'danger')}
</details>`
    : ''}`;
}

/** While the account enforces 2FA there is no form at all: the page says who decides and what to do. */
export function renderDisableRefused(accountName: string): SafeHTML {
  return html`<p class="breadcrumb"><a href="/user">User Details</a></p>
<h1>Disable Two Factor</h1>
<p role="alert">The administrators of ${accountName} require two-factor authentication for everyone in the account, so you cannot turn it off.</p>
<p>Moving to a new phone? Set it up there from User Details. Lost your phone? Log in with a recovery code, or ask an administrator of your account to send you a link to disable two-factor authentication.</p>`;
}

export function renderDisabled(): SafeHTML {
  return html`<h1>Two-factor authentication is off</h1>
<p role="status">Your second factors and recovery codes were removed and your other sessions were signed out; you stay signed in here. We sent you an e-mail about it.</p>
<p><a class="button primary" href="/user">Back to User Details</a></p>`;
}
