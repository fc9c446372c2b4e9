/**
 * The Mobile App enrollment pages (PRODUCT.md §2.3): choosing the phone's operating system with
 * recommended authenticator apps, then the rotating QR code with the secret for manual entry
 * and the "Confirm" field.
 *
 * The pending secret appears only as the QR image and as text in the page body of a no-store
 * response (SECURITY.md rules 12, 14) — never in a form field, a URL or a cookie. The form
 * carries only the enrollment's id, which is useless without the session that started it.
 * public/two-factor-enrollment.js finds the parts it swaps on rotation by their data-*
 * attributes; the page works without it.
 */
import { alertMessage, csrfField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { codeField } from './two-factor-code-field.ts';
import { timeElement } from './time.ts';
import { copyButton } from './copy-button.ts';

export type MobileOS = 'iphone' | 'android';

export const APP_ENROLLMENT_PATH = '/user/two-factor/app';
export const START_ENROLLMENT_PATH = '/user/two-factor/app/enrollment';
export const ROTATE_ENROLLMENT_PATH = '/user/two-factor/app/rotate';
export const CONFIRM_ENROLLMENT_PATH = '/user/two-factor/app/confirm';
export const ENROLLMENT_SCRIPT = '/assets/two-factor-enrollment.js';

/** Apps that read the standard otpauth:// Key URI on each platform (issue 3's interoperability list). */
const mobileSystems: Record<MobileOS, { label: string; apps: string[] }> = {
  iphone: { label: 'iPhone', apps: ['Google Authenticator', 'Microsoft Authenticator', '1Password', 'Authy'] },
  android: { label: 'Android', apps: ['Google Authenticator', 'Microsoft Authenticator', 'Aegis', 'FreeOTP'] },
};

export function chooseOSPath(os: MobileOS): string {
  return `${APP_ENROLLMENT_PATH}?os=${os}`;
}

function breadcrumb(): SafeHTML {
  return html`<p class="breadcrumb"><a href="/user">User Details</a></p>`;
}

function recommendations(os: MobileOS): SafeHTML {
  const system = mobileSystems[os];
  return html`<h2 id="apps-heading">Recommended apps for ${system.label}</h2>
<p>Install one of these from the ${os === 'iphone' ? 'App Store' : 'Google Play Store'}, if you have none yet:</p>
<ul class="app-list" aria-labelledby="apps-heading">${system.apps.map((app) => html`<li>${app}</li>`)}</ul>
<p class="aside">Any app that reads standard authenticator QR codes (TOTP) works.</p>`;
}

export interface ChooseOSView {
  os: MobileOS | null;
  csrfToken: string;
  alert?: string | null;
  /** Instead of "Continue", when a factor would be replaced by a session that is not recent. */
  passwordConfirmation: SafeHTML | null;
}

/** Step 2 of §2.3: which phone, and which apps to use on it. A GET form: choosing changes nothing. */
export function renderChooseOS(view: ChooseOSView): SafeHTML {
  const choice = (os: MobileOS) => html`<button type="submit" name="os" value="${os}"${view.os === os ? html` class="primary" aria-pressed="true"` : html` aria-pressed="false"`}>${mobileSystems[os].label}</button>`;
  const next = view.os
    ? html`<section class="panel" aria-labelledby="apps-heading">
${recommendations(view.os)}
${view.passwordConfirmation ?? html`<form method="post" action="${START_ENROLLMENT_PATH}" class="stacked">
${csrfField(view.csrfToken)}
<input type="hidden" name="os" value="${view.os}">
<p>When the app is installed, continue to scan the QR code with it.</p>
<div><button type="submit" class="primary">Continue</button></div>
</form>`}
</section>`
    : view.passwordConfirmation && html`<section class="panel">${view.passwordConfirmation}</section>`;
  return html`${breadcrumb()}
<h1>Mobile App</h1>
${alertMessage(view.alert)}
<p>An authenticator app on your phone shows a new six-digit code every 30 seconds. You enter it after your password when you log in.</p>
<form method="get" action="${APP_ENROLLMENT_PATH}" class="os-choice">
<fieldset>
<legend>Which phone do you use?</legend>
<div class="button-row">${choice('iphone')}${choice('android')}</div>
</fieldset>
</form>
${next}`;
}

/** What the page shows of a pending enrollment; also the rotation endpoint's JSON. */
export interface EnrollmentDisplay {
  enrollmentId: string;
  /**
   * The standard Key URI (otpauth://totp/…) behind "Open in authenticator app", for setting up
   * on the phone that shows the page. It carries the pending secret like the QR code does, and
   * lives only in this no-store page and the rotation's no-store answer (rule 14).
   */
  otpauthURI: string;
  /** The SVG QR code as a data: URI (the CSP allows img data:, and no markup is spliced in). */
  qrCode: string;
  /** The base32 secret in groups of four, as people copy it by hand. */
  secret: string;
  expiresAt: string;
  expiresText: string;
  /** Server time left, so the script's timer does not depend on the browser's clock. */
  expiresInMs: number;
}

export interface EnrollmentView {
  os: MobileOS | null;
  csrfToken: string;
  enrollment: EnrollmentDisplay;
  alert?: string | null;
  enrollmentRequired: boolean;
}

function startAgainForm(csrfToken: string, os: MobileOS | null, label: string): SafeHTML {
  return html`<form method="post" action="${START_ENROLLMENT_PATH}" class="inline-action">
${csrfField(csrfToken)}
${os ? html`<input type="hidden" name="os" value="${os}">` : ''}
<button type="submit">${label}</button>
</form>`;
}

function confirmForm(csrfToken: string, enrollmentId: string, os: MobileOS | null, invalid: boolean): SafeHTML {
  return html`<form method="post" action="${CONFIRM_ENROLLMENT_PATH}" class="stacked" id="enrollment-confirm">
${csrfField(csrfToken)}
<input type="hidden" name="enrollmentId" value="${enrollmentId}">
${os ? html`<input type="hidden" name="os" value="${os}">` : ''}
${codeField({ label: 'Confirm', name: 'code', id: 'field-confirm-code', kind: 'digits', hint: 'The six-digit code your app shows for Twofold.', invalid })}
<div><button type="submit" class="primary">Confirm</button></div>
</form>`;
}

/**
 * "Open in authenticator app": the otpauth:// link a phone hands to its authenticator app, for
 * someone setting up on the phone that shows this page (a QR code cannot be scanned by the
 * phone showing it). Shown on every screen; the stylesheet puts it first on small ones.
 */
function openInAppLink(otpauthURI: string): SafeHTML {
  return html`<p class="open-in-app"><a class="button" data-otpauth href="${otpauthURI}">Open in authenticator app</a><span class="aside"> On this phone? Tap to add Twofold to your authenticator app directly.</span></p>`;
}

/** Steps 3 and 4 of §2.3: the rotating QR code, the secret as text, and the "Confirm" field. */
export function renderEnrollment(view: EnrollmentView): SafeHTML {
  const { enrollment } = view;
  return html`${breadcrumb()}
<h1>Scan the QR code</h1>
${view.enrollmentRequired ? statusMessage('Your account administrator requires two-factor authentication. Confirming the app completes your login.') : ''}
${alertMessage(view.alert)}
<section class="panel enrollment" aria-labelledby="scan-heading" data-enrollment data-rotate-url="${ROTATE_ENROLLMENT_PATH}" data-expires-in-ms="${enrollment.expiresInMs}">
<h2 id="scan-heading">1. Add Twofold to your app</h2>
<p>In your authenticator app, choose to add an account and scan this QR code.</p>
<div class="qr-code" data-enrollment-code><img data-qr src="${enrollment.qrCode}" alt="QR code" width="232" height="232"></div>
${openInAppLink(enrollment.otpauthURI)}
<p>Cannot scan it? Enter this key in the app instead (time-based):</p>
<p class="secret"><code id="enrollment-secret" data-secret>${enrollment.secret}</code> ${copyButton('enrollment-secret', 'Copy key', true)}</p>
<p class="aside">This QR code is valid until ${timeElement(enrollment.expiresAt, 'clock', html` data-expires`)}. <span data-rotation-note>When it expires, choose “Start again” (or reload the page) for a new one.</span></p>
<p class="rotation-status" role="status" data-rotation-status></p>
${startAgainForm(view.csrfToken, view.os, 'Start again')}
</section>
<section class="panel" aria-labelledby="confirm-heading">
<h2 id="confirm-heading">2. Enter the code from the app</h2>
${confirmForm(view.csrfToken, enrollment.enrollmentId, view.os, Boolean(view.alert))}
</section>`;
}

export interface RetryView {
  os: MobileOS | null;
  csrfToken: string;
  enrollmentId: string;
  alert: string;
}

/**
 * A code that was wrong or malformed for an enrollment that cannot be shown again (its id is
 * not this user's pending one): the person types the code again or starts again. While the
 * enrollment is pending, a wrong code answers with the QR page itself (issue 17).
 */
export function renderEnrollmentRetry(view: RetryView): SafeHTML {
  return html`${breadcrumb()}
<h1>Enter the code from the app</h1>
${alertMessage(view.alert)}
<section class="panel">
<p>Type the code your authenticator app shows now for Twofold. Codes change every 30 seconds.</p>
${confirmForm(view.csrfToken, view.enrollmentId, view.os, true)}
<p>Could not add Twofold to the app? Start again with a new QR code.</p>
${startAgainForm(view.csrfToken, view.os, 'Start again with a new QR code')}
</section>`;
}

/**
 * The confirm form posted again after it succeeded (the recovery-codes page reloaded): the app
 * is set up and the codes were shown once. Not "expired" — nothing went wrong.
 */
export function renderAlreadySetUp(): SafeHTML {
  return html`${breadcrumb()}
<h1>Mobile App</h1>
${statusMessage('Your authenticator app is set up: this QR code was already confirmed.')}
<p>Recovery codes are shown only once. If you did not save them, make a new set from User Details (“Regenerate recovery codes”).</p>
<p><a class="button primary" href="/user">Back to User Details</a></p>`;
}
