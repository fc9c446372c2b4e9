/**
 * Security keys on the pages (PRODUCT.md §2.9): the "Security Key" setup page (field "Key name",
 * button "Register", then the browser's own prompt), the list of keys on User Details, and the
 * "Use your security key" part of the Verification Code page. The browser prompt needs
 * JavaScript (public/security-key.js with @simplewebauthn/browser's bundle, both from /assets:
 * the CSP stays script-src 'self'); without it the pages say so and offer the other methods.
 * That notice is a plain paragraph the script hides (not <noscript>, which browsers that merely
 * block scripts never show).
 */
import { timeElement } from './time.ts';
import { csrfField } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';

export const SECURITY_KEY_PATH = '/user/two-factor/security-key';
export const SECURITY_KEY_SCRIPTS = ['/assets/webauthn/index.umd.min.js', '/assets/security-key.js'];

export function removeSecurityKeyPath(id: string): string {
  return `${SECURITY_KEY_PATH}/${encodeURIComponent(id)}/remove`;
}

export interface SecurityKeyRow {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

const NEEDS_JAVASCRIPT = 'A security key needs JavaScript, which is off in this browser.';


/** The keys on User Details, each with "Remove". */
export function renderSecurityKeyList(keys: readonly SecurityKeyRow[], csrfToken: string): SafeHTML {
  if (keys.length === 0) return html``;
  return html`<table class="security-keys"><thead><tr><th scope="col">Name</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col">Action</th></tr></thead><tbody>
${keys.map(
  (key) =>
    html`<tr><td>${key.name}</td><td>${timeElement(key.createdAt)}</td><td>${timeElement(key.lastUsedAt)}</td><td><form method="post" action="${removeSecurityKeyPath(key.id)}" class="inline">${csrfField(csrfToken)}<button type="submit" aria-label="Remove ${key.name}">Remove</button></form></td></tr>`,
)}
</tbody></table>`;
}

export interface SecurityKeyPageView {
  /** Set when the session must confirm the password first (recent authentication). */
  reauthenticateHref: string | null;
  alert?: string | null;
}

export function renderSecurityKeyPage(user: LayoutUser, view: SecurityKeyPageView): string {
  const body = view.reauthenticateHref
    ? html`<p class="alert" role="alert">For your security, enter your password again before adding a security key.</p>
<p><a class="button primary" href="${view.reauthenticateHref}">Confirm your password</a></p>`
    : html`<p class="alert" data-needs-javascript>${NEEDS_JAVASCRIPT} Use the Mobile App or SMS Message instead.</p>
${view.alert ? html`<p class="alert" role="alert">${view.alert}</p>` : ''}
<form id="security-key-register" class="stacked" data-options-url="/api/v1/me/2fa/webauthn/options" data-register-url="/api/v1/me/2fa/webauthn" data-done-url="/user">
<label for="field-key-name">Key name</label>
<input id="field-key-name" name="name" type="text" required maxlength="64" autocomplete="off" aria-describedby="key-name-hint">
<p class="hint" id="key-name-hint">So you can tell your keys apart, e.g. "YubiKey" or "Work laptop".</p>
<div><button type="submit" class="primary">Register</button></div>
<p class="alert" role="alert" data-security-key-error hidden></p>
</form>
<section data-recovery-codes hidden>
<h2>Save your recovery codes</h2>
<p>Each code lets you log in once if you lose your key. They are shown only now.</p>
<ul class="recovery-codes" data-recovery-code-list></ul>
<p><a class="button primary" href="/user">Continue</a></p>
</section>`;
  return renderSignedInPage(
    'Security Key',
    user,
    html`<h1>Security Key</h1>
<p>A hardware security key, or a passkey on your phone or computer. When you log in, your browser asks you to touch the key or confirm the passkey: it cannot be phished.</p>
${body}
<p class="aside"><a href="/user">Back to User Details</a></p>`,
    view.reauthenticateHref ? [] : SECURITY_KEY_SCRIPTS,
  );
}

/** The Verification Code page's "Use your security key", shown first when the user has a key. */
/** `trustField`: the "Trust this browser" checkbox (empty when the account has trust off); the script sends it along. */
export function renderSecurityKeyStep(next: string | null, onlyMethod: boolean, trustField: SafeHTML = html``): SafeHTML {
  return html`<section class="security-key-step" id="security-key-login" data-options-url="/api/v1/login/webauthn/options" data-verify-url="/api/v1/login/verify" data-done-url="${next ?? '/user'}">
<p class="alert" data-needs-javascript>${NEEDS_JAVASCRIPT} ${onlyMethod ? 'Use a recovery code instead.' : 'Use another method below.'}</p>
<p>Use your security key or passkey: your browser will ask you to touch the key or confirm.</p>
${trustField}
<div><button type="button" class="primary" data-use-security-key hidden>Use your security key</button></div>
<p class="alert" role="alert" data-security-key-error hidden></p>
</section>`;
}
