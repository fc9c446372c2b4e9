/**
 * Recovery codes on a page (PRODUCT.md §2.7, SECURITY.md rule 16): shown once, right after a
 * factor is confirmed or the set is regenerated, in a no-store response. The page says plainly
 * that each code works once and that this is the only time they are shown.
 */
import { alertMessage, csrfField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';
import { COPY_SCRIPT, copyButton } from './copy-button.ts';
import { utcText } from './time.ts';

export const RECOVERY_CODES_PATH = '/user/two-factor/recovery-codes';

export interface RecoveryCodesShown {
  codes: readonly string[];
  notice: string;
  /** Written into the downloaded file, so a saved file says whose codes they are. */
  accountName: string;
  email: string;
  nowMs: number;
}

/** The downloaded file's name: the date, so a newer set is told apart from an older one. */
function downloadName(nowMs: number): string {
  return `twofold-recovery-codes-${new Date(nowMs).toISOString().slice(0, 10)}.txt`;
}

/** The .txt file: whose codes, when made, how they work, one code a line. */
export function recoveryCodesFile(shown: RecoveryCodesShown): string {
  return [
    'Twofold recovery codes',
    '',
    `Account: ${shown.accountName}`,
    `User: ${shown.email}`,
    `Created: ${utcText(shown.nowMs)}`,
    '',
    'Each code lets you log in once without your phone. Making a new set stops these from working.',
    '',
    ...shown.codes,
    '',
  ].join('\r\n');
}

/**
 * "Download", "Copy" and "Print" (issue 17). The download is a data: link built here, from the
 * codes already in this no-store page: it works without JavaScript, needs no second request and
 * no server-side copy of the codes — they stay stored only as hashes (rule 16). Copy and Print
 * need the script (public/copy-text.js) and are hidden until it shows them; the print
 * stylesheet prints the codes and the account, nothing else.
 */
function recoveryCodeActions(shown: RecoveryCodesShown): SafeHTML {
  const href = `data:text/plain;charset=utf-8,${encodeURIComponent(recoveryCodesFile(shown))}`;
  return html`<div class="button-row recovery-code-actions">
<a class="button" href="${href}" download="${downloadName(shown.nowMs)}">Download</a>
${copyButton('recovery-code-list', 'Copy')}
<button type="button" data-print hidden>Print</button>
</div>`;
}

function renderRecoveryCodes(shown: RecoveryCodesShown): SafeHTML {
  return html`<h1>Recovery codes</h1>
${statusMessage(shown.notice)}
<p>If you lose your phone, you can log in with one of these codes instead of a verification code. <strong>Each code works once.</strong></p>
<p>Save them now — in a password manager, downloaded, or printed and kept somewhere safe. They are not shown again; you can make a new set from User Details, which stops these from working.</p>
<p class="print-only">Twofold · ${shown.accountName} · ${shown.email} · ${utcText(shown.nowMs)}</p>
<ol class="recovery-codes" id="recovery-code-list" aria-label="Your recovery codes">${shown.codes.map((code) => html`<li><code>${code}</code></li>`)}</ol>
${recoveryCodeActions(shown)}
<p><a class="button primary" href="/user">Continue</a></p>`;
}

/** The page that shows a new set once, with the Copy/Print script. */
export function renderRecoveryCodesPage(layoutUser: LayoutUser, shown: RecoveryCodesShown): string {
  return renderSignedInPage('Recovery codes', layoutUser, renderRecoveryCodes(shown), [COPY_SCRIPT]);
}

/**
 * After a second method was added: the user's recovery codes did not change (issue 13), and the
 * page says so, so nobody throws away the codes they saved.
 */
export function renderMethodAdded(notice: string): SafeHTML {
  return html`<h1>Two-factor authentication</h1>
${statusMessage(notice)}
<p>Your recovery codes have not changed: the codes you saved still work. You can make a new set from User Details, which stops the old ones from working.</p>
<p><a class="button primary" href="/user">Continue</a></p>`;
}

export interface RegenerateView {
  csrfToken: string;
  /** The password form, when the session's authentication is older than the policy allows. */
  passwordConfirmation: SafeHTML | null;
  alert?: string | null;
}

/** The step before regenerating: says what will happen, then asks for the password or the go-ahead. */
export function renderRegenerateRecoveryCodes(view: RegenerateView): SafeHTML {
  return html`<p class="breadcrumb"><a href="/user">User Details</a></p>
<h1>Regenerate recovery codes</h1>
${alertMessage(view.alert)}
<p>You get ten new recovery codes. Your current codes, used or not, stop working at once.</p>
${view.passwordConfirmation ?? html`<form method="post" action="${RECOVERY_CODES_PATH}" class="stacked">
${csrfField(view.csrfToken)}
<div><button type="submit" class="primary">Regenerate recovery codes</button></div>
</form>`}`;
}

/** Recovery codes need a second factor first: the page says so and leads back. */
export function renderRecoveryCodesNotEnabled(message: string): SafeHTML {
  return html`<h1>Recovery codes</h1>${alertMessage(message)}<p><a href="/user">Back to User Details</a></p>`;
}
