/** Change password (issue 17): "Current password", "New password", button "Change password". */
import { alertMessage, inputField, postForm } from './forms.ts';
import { html } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';

export const CHANGE_PASSWORD_PATH = '/user/password';

export function renderChangePasswordPage(layoutUser: LayoutUser, error: string | null, invalidField: 'currentPassword' | 'newPassword' | null): string {
  const main = html`<h1>Change password</h1>
<p>Your other sessions will be signed out; this one stays signed in. We will e-mail you that the password was changed.</p>
${alertMessage(error)}
${postForm(CHANGE_PASSWORD_PATH, layoutUser.csrfToken, [
  inputField({ label: 'Current password', name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024, invalid: invalidField === 'currentPassword' }),
  inputField({ label: 'New password', name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, minLength: 8, maxLength: 128, invalid: invalidField === 'newPassword', hint: '8 to 128 characters.' }),
], 'Change password')}
<p class="aside"><a href="/user">Back to User Details</a></p>`;
  return renderSignedInPage('Change password', layoutUser, main);
}
