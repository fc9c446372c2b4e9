/**
 * The Verification Code page (PRODUCT.md §2.2 step 2, §6 labels): the second step of a login,
 * with a code of one of the user's kinds of second factor or, after "Use a recovery code", a
 * recovery code. Every kind's words come from its SecondFactor (`verification`), in the registry's order. It is a
 * visitor page (no top bar): the half-authenticated session reaches nothing but this and
 * logging out, so the page offers exactly those.
 */
import { alertMessage, csrfField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderBarePage } from './layout.ts';
import { codeField } from './two-factor-code-field.ts';
import type { CodeShape, VerificationCopy } from '../../factors/factor.ts';
import { METHOD_KINDS } from '../../factors/registry.ts';
import { WEBAUTHN_KIND as SECURITY_KEY_KIND } from '../../factors/webauthn/keys.ts';
import { renderSecurityKeyStep, SECURITY_KEY_SCRIPTS } from './two-factor-security-key.ts';
import { trustBrowserField } from './trust-browser-field.ts';

export const LOGIN_VERIFY_PATH = '/login/verify';
/** Texts the login code (again): POST only, with the CSRF token — it sends a text (rule 26). */
export const LOGIN_SMS_PATH = '/login/sms';

/**
 * The page's address for a kind (null: the user's default), carrying a safe `next` along. The
 * registry's first method is the default and is left out of the address.
 */
export function loginVerifyPath(method: string | null, next: string | null, textNotSent = false): string {
  const query = new URLSearchParams();
  // No method means the user's default: their first method in the registry's order.
  if (method !== null && method !== METHOD_KINDS[0]) query.set('method', method);
  if (next) query.set('next', next);
  // The login text could not be sent at the password step: the page says so instead of "we texted".
  if (textNotSent) query.set('text', 'unsent');
  const text = query.toString();
  return text ? `${LOGIN_VERIFY_PATH}?${text}` : LOGIN_VERIFY_PATH;
}

function loginSMSPath(next: string | null): string {
  return next ? `${LOGIN_SMS_PATH}?next=${encodeURIComponent(next)}` : LOGIN_SMS_PATH;
}

/** One way the user can finish this login, as its kind describes it. */
export interface VerificationOption {
  kind: string;
  copy: VerificationCopy;
  codeShape: CodeShape;
  /** The kind's description detail (the masked number), or null. */
  detail: string | null;
  /** The server begins it (texts the code): switching to it is a POST that sends one. */
  begins: boolean;
}

export interface VerificationView {
  /** The kind the page asks for now. */
  current: VerificationOption;
  /** Every kind the user can use, in the registry's order: their methods, then the fallback. */
  options: readonly VerificationOption[];
  next: string | null;
  csrfToken: string;
  alert?: string | SafeHTML | null;
  notice?: string | null;
  /** The account's trusted-browser days (0 or absent: no "Trust this browser" checkbox). */
  trustedBrowserDays?: number;
}

/** For a login whose text could not be sent (see loginVerifyPath); the reason shows on resend. */
export const TEXT_NOT_SENT_MESSAGE = 'We could not send the text message just now. Choose “Send another text” to try again, or use a recovery code.';

function intro(view: VerificationView): string {
  const { copy, detail } = view.current;
  if (copy.introUnsent && view.alert === TEXT_NOT_SENT_MESSAGE) return copy.introUnsent(detail);
  return copy.intro(detail);
}

function textMeForm(view: VerificationView, label: string): SafeHTML {
  return html`<form method="post" action="${loginSMSPath(view.next)}" class="aside">${csrfField(view.csrfToken)}<button type="submit" class="link">${label}</button></form>`;
}

/** The ways to switch, in the registry's order: a link, or for a kind the server begins a button that sends its code. */
function otherMethods(view: VerificationView): SafeHTML {
  const links: SafeHTML[] = [];
  for (const option of view.options) {
    // The security key has its own part at the top of the page, not a link.
    if (option.kind === SECURITY_KEY_KIND) continue;
    if (option.kind === view.current.kind) {
      if (option.begins && option.copy.resendLabel) links.push(textMeForm(view, option.copy.resendLabel));
    } else if (option.begins) {
      links.push(textMeForm(view, option.copy.switchLabel));
    } else {
      links.push(html`<p class="aside"><a href="${loginVerifyPath(option.kind, view.next)}">${option.copy.switchLabel}</a></p>`);
    }
  }
  return html`${links}`;
}

export function renderVerification(view: VerificationView): string {
  const { kind, copy, codeShape } = view.current;
  // A user with a key sees "Use your security key" first (PRODUCT.md §2.9 step 3); codes stay below it.
  const hasKey = view.options.some((option) => option.kind === SECURITY_KEY_KIND);
  const keyOnly = kind === SECURITY_KEY_KIND;
  const codeForm = keyOnly
    ? html``
    : html`${hasKey ? html`<h2>Or enter a code</h2>` : ''}
<p>${intro(view)}</p>
<form method="post" action="${loginVerifyPath(kind, view.next)}" class="stacked">
${csrfField(view.csrfToken)}
<input type="hidden" name="method" value="${kind}">
${codeField({ label: copy.label, name: 'code', id: 'field-code', kind: codeShape === 'recovery_code' ? 'recovery' : 'digits', hint: copy.hint, invalid: Boolean(view.alert), autofocus: !hasKey })}
${codeShape === 'recovery_code' ? '' : trustBrowserField(view.trustedBrowserDays ?? 0, 'field-trustBrowser')}
<div><button type="submit" class="primary">Continue</button></div>
</form>`;
  const title = hasKey ? 'Verification Code' : copy.title;
  return renderBarePage(
    title,
    html`<h1>${title}</h1>
${alertMessage(view.alert)}
${statusMessage(view.notice)}
${hasKey ? renderSecurityKeyStep(view.next, view.options.filter((option) => option.kind !== SECURITY_KEY_KIND && option.kind !== 'recovery').length === 0, trustBrowserField(view.trustedBrowserDays ?? 0, 'field-trustBrowser-key')) : ''}
${codeForm}
${otherMethods(view)}
${logOutForm(view.csrfToken)}`,
    hasKey ? SECURITY_KEY_SCRIPTS : [],
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
