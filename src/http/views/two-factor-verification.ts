/**
 * The Verification Code page (PRODUCT.md §2.2 step 2, §6 labels): the second step of a login,
 * with the authenticator-app code or, after "Use a recovery code", a recovery code. It is a
 * visitor page (no top bar): the half-authenticated session reaches nothing but this and
 * logging out, so the page offers exactly those.
 */
import { alertMessage, csrfField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderBarePage } from './layout.ts';
import { codeField } from './two-factor-code-field.ts';

export type VerificationMethod = 'totp' | 'sms' | 'recovery';

export const LOGIN_VERIFY_PATH = '/login/verify';
/** Texts the login code (again): POST only, with the CSRF token — it sends a text (rule 26). */
export const LOGIN_SMS_PATH = '/login/sms';

/** The page's address for a method, carrying a safe `next` along. */
export function loginVerifyPath(method: VerificationMethod, next: string | null, textNotSent = false): string {
  const query = new URLSearchParams();
  // No method means the user's default: the app if they have it, else the text message.
  if (method !== 'totp') query.set('method', method);
  if (next) query.set('next', next);
  // The login text could not be sent at the password step: the page says so instead of "we texted".
  if (textNotSent) query.set('text', 'unsent');
  const text = query.toString();
  return text ? `${LOGIN_VERIFY_PATH}?${text}` : LOGIN_VERIFY_PATH;
}

function loginSMSPath(next: string | null): string {
  return next ? `${LOGIN_SMS_PATH}?next=${encodeURIComponent(next)}` : LOGIN_SMS_PATH;
}

/** Which second factors the user has, so the page offers exactly those. */
export interface VerificationFactors {
  /** The methods the user has, in the registry's order. */
  methods: readonly string[];
  app: boolean;
  /** The masked number of the user's SMS factor, or null without one. */
  phoneMasked: string | null;
}

export interface VerificationView {
  method: VerificationMethod;
  next: string | null;
  csrfToken: string;
  factors: VerificationFactors;
  alert?: string | null;
  notice?: string | null;
}

const copy: Record<VerificationMethod, { title: string; label: string; hint: string }> = {
  totp: { title: 'Verification Code', label: 'Verification code', hint: 'Six digits. A new code appears every 30 seconds.' },
  sms: { title: 'Verification Code', label: 'Verification code', hint: 'Six digits, from the text message. The code works for 10 minutes.' },
  recovery: { title: 'Use a recovery code', label: 'Recovery code', hint: 'Like xxxxx-xxxxx; upper or lower case, with or without the hyphen.' },
};

/** For a login whose text could not be sent (see loginVerifyPath); the reason shows on resend. */
export const TEXT_NOT_SENT_MESSAGE = 'We could not send the text message just now. Choose “Send another text” to try again, or use a recovery code.';

function intro(view: VerificationView): string {
  switch (view.method) {
    case 'totp':
      return 'Open your authenticator app and enter the code it shows for Twofold.';
    case 'sms':
      if (view.alert === TEXT_NOT_SENT_MESSAGE) return `Your code goes by text message to ${view.factors.phoneMasked ?? 'your phone'}.`;
      return `We texted a six-digit code to ${view.factors.phoneMasked ?? 'your phone'}. Enter it below.`;
    case 'recovery':
      return 'Enter one of the recovery codes you saved when you set up two-factor authentication. Each code works once.';
  }
}

function textMeForm(view: VerificationView, label: string): SafeHTML {
  return html`<form method="post" action="${loginSMSPath(view.next)}" class="aside">${csrfField(view.csrfToken)}<button type="submit" class="link">${label}</button></form>`;
}

/** The ways to switch: to the app, to a text message (which sends one), to a recovery code. */
function otherMethods(view: VerificationView): SafeHTML {
  const { app, phoneMasked } = view.factors;
  const links: SafeHTML[] = [];
  if (view.method !== 'totp' && app) links.push(html`<p class="aside"><a href="${loginVerifyPath('totp', view.next)}">Use the authenticator app</a></p>`);
  if (view.method === 'sms') links.push(textMeForm(view, 'Send another text'));
  else if (phoneMasked !== null) links.push(textMeForm(view, 'Send a text message instead'));
  if (view.method !== 'recovery') links.push(html`<p class="aside"><a href="${loginVerifyPath('recovery', view.next)}">Use a recovery code</a></p>`);
  return html`${links}`;
}

export function renderVerification(view: VerificationView): string {
  const text = copy[view.method];
  return renderBarePage(
    text.title,
    html`<h1>${text.title}</h1>
${alertMessage(view.alert)}
${statusMessage(view.notice)}
<p>${intro(view)}</p>
<form method="post" action="${loginVerifyPath(view.method, view.next)}" class="stacked">
${csrfField(view.csrfToken)}
<input type="hidden" name="method" value="${view.method}">
${codeField({ label: text.label, name: 'code', id: 'field-code', kind: view.method === 'recovery' ? 'recovery' : 'digits', hint: text.hint, invalid: Boolean(view.alert) })}
<div><button type="submit" class="primary">Continue</button></div>
</form>
${otherMethods(view)}
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
