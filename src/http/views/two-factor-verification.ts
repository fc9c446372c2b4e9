/**
 * The Verification Code page (PRODUCT.md §2.2 step 2, §6 labels): the second step of a login,
 * with the authenticator-app code or, after "Use a recovery code", a recovery code. It is a
 * visitor page (no top bar): the half-authenticated session reaches nothing but this and
 * logging out, so the page offers exactly those.
 */
import { alertMessage, csrfField } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderBarePage } from './layout.ts';
import { codeField } from './two-factor-code-field.ts';

export type VerificationMethod = 'totp' | 'recovery';

export const LOGIN_VERIFY_PATH = '/login/verify';

/** The page's address for a method, carrying a safe `next` along. */
export function loginVerifyPath(method: VerificationMethod, next: string | null): string {
  const query = new URLSearchParams();
  if (method === 'recovery') query.set('method', 'recovery');
  if (next) query.set('next', next);
  const text = query.toString();
  return text ? `${LOGIN_VERIFY_PATH}?${text}` : LOGIN_VERIFY_PATH;
}

export interface VerificationView {
  method: VerificationMethod;
  next: string | null;
  csrfToken: string;
  alert?: string | null;
}

const copy: Record<VerificationMethod, { title: string; intro: string; label: string; hint: string; other: string }> = {
  totp: {
    title: 'Verification Code',
    intro: 'Open your authenticator app and enter the code it shows for Twofold.',
    label: 'Verification code',
    hint: 'Six digits. A new code appears every 30 seconds.',
    other: 'Use a recovery code',
  },
  recovery: {
    title: 'Use a recovery code',
    intro: 'Enter one of the recovery codes you saved when you set up two-factor authentication. Each code works once.',
    label: 'Recovery code',
    hint: 'Like xxxxx-xxxxx; upper or lower case, with or without the hyphen.',
    other: 'Use the authenticator app',
  },
};

export function renderVerification(view: VerificationView): string {
  const text = copy[view.method];
  const other: VerificationMethod = view.method === 'totp' ? 'recovery' : 'totp';
  return renderBarePage(
    text.title,
    html`<h1>${text.title}</h1>
${alertMessage(view.alert)}
<p>${text.intro}</p>
<form method="post" action="${loginVerifyPath(view.method, view.next)}" class="stacked">
${csrfField(view.csrfToken)}
<input type="hidden" name="method" value="${view.method}">
${codeField({ label: text.label, name: 'code', id: 'field-code', kind: view.method === 'totp' ? 'digits' : 'recovery', hint: text.hint, invalid: Boolean(view.alert) })}
<div><button type="submit" class="primary">Continue</button></div>
</form>
<p class="aside"><a href="${loginVerifyPath(other, view.next)}">${text.other}</a></p>
${logOutForm(view.csrfToken)}`,
  );
}

function logOutForm(csrfToken: string): SafeHTML {
  return html`<form method="post" action="/logout" class="aside">${csrfField(csrfToken)}<button type="submit" class="link">Cancel and log out</button></form>`;
}

/** The login is over (expired, or too many wrong codes): the session is gone, start again. */
export function renderLoginEnded(loginHref: string): string {
  return renderBarePage(
    'Log in again',
    html`<h1>Log in again</h1>
<p class="alert" role="alert">This login has ended, because it took too long or too many codes were wrong. Log in again with your email and password.</p>
<p><a class="button primary" href="${loginHref}">Go to the login page</a></p>`,
  );
}
