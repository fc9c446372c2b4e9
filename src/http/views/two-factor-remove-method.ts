/**
 * "Remove" one second-factor method from User Details (issue 17): the page behind
 * DELETE /api/v1/me/2fa/methods/{method}. It asks for what that route asks — the password, or a
 * current code from the authenticator app (offered only to a user who has the app) — and
 * keeps the other methods and the recovery codes.
 */
import { alertMessage, inputField, postForm } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { codeField } from './two-factor-code-field.ts';
import { describeMethods } from './descriptions.ts';

export const REMOVE_METHOD_PATH = '/user/two-factor/methods/:method/remove';

export function removeMethodPath(method: string): string {
  return `/user/two-factor/methods/${encodeURIComponent(method)}/remove`;
}

export interface RemoveMethodView {
  method: string;
  /** Every method the user has, this one included. */
  methods: readonly string[];
  csrfToken: string;
  alert: string | SafeHTML | null;
}

function breadcrumb(): SafeHTML {
  return html`<p class="breadcrumb"><a href="/user">User Details</a></p>`;
}

export function renderRemoveMethod(view: RemoveMethodView): SafeHTML {
  const name = describeMethods([view.method]);
  const kept = describeMethods(view.methods.filter((method) => method !== view.method));
  const path = removeMethodPath(view.method);
  // Only an app code proves presence (as for the API); a code from the app being removed still
  // proves the person holds it now.
  const codeAllowed = view.methods.includes('totp');
  return html`${breadcrumb()}
<h1>Remove ${name}</h1>
<p>Your login will no longer offer ${name}. You keep ${kept} and your recovery codes, and two-factor authentication stays on.</p>
${alertMessage(view.alert)}
${postForm(path, view.csrfToken, inputField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024, invalid: view.alert !== null }), `Remove ${name}`, 'danger')}
${codeAllowed
    ? html`<details class="alternative"><summary>Use a code from your authenticator app instead</summary>
${postForm(path, view.csrfToken, codeField({ label: 'Verification code', name: 'code', id: 'remove-code', kind: 'digits', hint: 'The 6-digit code your app shows now.' }), 'Remove with this code', 'danger')}
</details>`
    : ''}`;
}

/** The method cannot go (it is the last one, or not on): what to do instead, and no form. */
export function renderRemoveRefused(method: string, message: string): SafeHTML {
  return html`${breadcrumb()}
<h1>Remove ${describeMethods([method])}</h1>
<p class="alert" role="alert">${message}</p>
<p><a class="button" href="/user">Back to User Details</a></p>`;
}

export function renderMethodRemoved(method: string): SafeHTML {
  return html`<h1>${describeMethods([method])} removed</h1>
<p role="status">${describeMethods([method])} no longer works for your login. Your other methods and your recovery codes still do. We sent you an e-mail about it.</p>
<p><a class="button primary" href="/user">Back to User Details</a></p>`;
}
