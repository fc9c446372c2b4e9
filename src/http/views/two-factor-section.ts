/**
 * The Two-Factor Authentication section of User Details (PRODUCT.md §2.3, §2.7): the methods
 * on offer while none is set up, and once 2FA is on, what is set up and the recovery codes.
 * Buttons that only open the next page are GET forms: opening a page changes nothing, and a
 * state change is always a POST behind its own page (SECURITY.md rule 26).
 */
import { html, type SafeHTML } from './html.ts';
import { APP_ENROLLMENT_PATH } from './two-factor-app.ts';
import { DISABLE_TWO_FACTOR_PATH } from './two-factor-disable.ts';
import { RECOVERY_CODES_PATH } from './two-factor-recovery-codes.ts';
import { removeMethodPath } from './two-factor-remove-method.ts';
import { SMS_ENROLLMENT_PATH, SMS_WEAKER_NOTE } from './two-factor-sms.ts';
import { renderSecurityKeyList, SECURITY_KEY_PATH, type SecurityKeyRow } from './two-factor-security-key.ts';

export interface TwoFactorSection {
  methods: readonly string[];
  unusedRecoveryCodes: number;
  /** Whether this server can send text messages at all (an SMS provider is configured). */
  smsAvailable: boolean;
  /** The masked number of the user's SMS factor, when SMS is on. */
  phoneMasked: string | null;
  /** Whether security keys can be used here (PUBLIC_URL has a host name, not an IP address). */
  securityKeysOffered: boolean;
  securityKeys: readonly SecurityKeyRow[];
  csrfToken: string;
  /** The methods the account's policy allows: only these are offered (PRODUCT.md §2.9). */
  allowedMethods: readonly string[];
}

function securityKeyPart(section: TwoFactorSection): SafeHTML {
  if (!section.securityKeysOffered || !section.allowedMethods.includes('webauthn')) return html``;
  const has = section.securityKeys.length > 0;
  return html`<h3>Security Key</h3>
<p>${has ? 'Your security keys and passkeys. You can add up to 10.' : 'A hardware security key or a passkey: the strongest second factor, which cannot be phished.'}</p>
${renderSecurityKeyList(section.securityKeys, section.csrfToken)}
${section.securityKeys.length < 10 ? html`<div class="button-row">${openButton(SECURITY_KEY_PATH, has ? 'Add a security key' : 'Security Key')}</div>` : ''}`;
}

function openButton(path: string, label: string, style: 'primary' | 'plain' = 'plain', accessibleName?: string): SafeHTML {
  return html`<form method="get" action="${path}" class="inline-action"><button type="submit"${style === 'primary' ? html` class="primary"` : ''}${accessibleName ? html` aria-label="${accessibleName}"` : ''}>${label}</button></form>`;
}

/**
 * "Remove" beside a method while another one stays (issue 17); the last method goes only with
 * "Disable Two Factor". Its accessible name says which method, as two buttons read "Remove".
 */
function removeButton(section: TwoFactorSection, method: string, name: string): SafeHTML | '' {
  if (section.methods.length < 2 || !section.methods.includes(method)) return '';
  return openButton(removeMethodPath(method), 'Remove', 'plain', `Remove ${name}`);
}

/** A row of buttons, or nothing when none of them applies. */
function buttonRow(buttons: Array<SafeHTML | ''>): SafeHTML | '' {
  const shown = buttons.filter((button): button is SafeHTML => button !== '');
  return shown.length === 0 ? '' : html`<div class="button-row">${shown}</div>`;
}

/** What "Disable Two Factor" takes away, naming only what this user has. */
function turnOffText(methods: readonly string[]): string {
  const parts = [
    methods.includes('totp') ? 'your authenticator app' : null,
    methods.includes('sms') ? 'your text-message phone' : null,
    methods.includes('webauthn') ? 'your security keys' : null,
    'your recovery codes',
  ].filter((part): part is string => part !== null);
  const list = parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}`;
  return `Turning two-factor authentication off removes ${list} and signs you out everywhere else.`;
}

export function renderTwoFactorSection(section: TwoFactorSection): SafeHTML {
  const allows = (kind: string) => section.allowedMethods.includes(kind);
  const smsOffered = section.smsAvailable && allows('sms');
  if (section.methods.length === 0) {
    return html`<p>Add a second step to your login: after your password, you enter a code from your phone${allows('webauthn') && section.securityKeysOffered ? ' or use a security key' : ''}. Choose how:</p>
<div class="button-row">${allows('totp') ? openButton(APP_ENROLLMENT_PATH, 'Mobile App', 'primary') : ''}${smsOffered ? openButton(SMS_ENROLLMENT_PATH, 'SMS Message') : ''}${section.securityKeysOffered && allows('webauthn') ? openButton(SECURITY_KEY_PATH, 'Security Key', allows('totp') ? 'plain' : 'primary') : ''}</div>
${smsOffered ? html`<p class="aside">${SMS_WEAKER_NOTE}</p>` : ''}`;
  }
  const hasApp = section.methods.includes('totp');
  const hasSMS = section.methods.includes('sms');
  return html`${!allows('totp')
    ? ''
    : hasApp
    ? html`<h3>Mobile App</h3>
<p>Your authenticator app gives you the code at login. Moving to a new phone? Set it up there; the current app keeps working until the new one is confirmed.</p>
<div class="button-row">${openButton(APP_ENROLLMENT_PATH, 'Set up on a new phone')}${removeButton(section, 'totp', 'Mobile App')}</div>`
    : html`<h3>Mobile App</h3>
<p>An authenticator app is the stronger second factor and works without phone signal. It can be added beside text messages.</p>
<div class="button-row">${openButton(APP_ENROLLMENT_PATH, 'Mobile App')}</div>`}
${hasSMS
    ? html`<h3>SMS Message</h3>
<p>SMS is on: we text your login codes to <strong class="phone-masked">${section.phoneMasked ?? 'your phone'}</strong>.</p>
<p class="aside">${SMS_WEAKER_NOTE}</p>
${buttonRow([section.smsAvailable ? openButton(SMS_ENROLLMENT_PATH, 'Change phone number') : '', removeButton(section, 'sms', 'SMS Message')])}`
    : smsOffered
      ? html`<h3>SMS Message</h3>
<p>You can also get codes by text message, as a backup.</p>
<p class="aside">${SMS_WEAKER_NOTE}</p>
<div class="button-row">${openButton(SMS_ENROLLMENT_PATH, 'SMS Message')}</div>`
      : ''}
${securityKeyPart(section)}
<h3>Recovery codes</h3>
<p>${section.unusedRecoveryCodes === 1 ? '1 unused recovery code left' : `${section.unusedRecoveryCodes} unused recovery codes left`}. Each one lets you log in once without your phone.</p>
<div class="button-row">${openButton(RECOVERY_CODES_PATH, 'Regenerate recovery codes')}</div>
<h3>Turn off</h3>
<p>${turnOffText(section.methods)}</p>
<div class="button-row">${openButton(DISABLE_TWO_FACTOR_PATH, 'Disable Two Factor')}</div>`;
}
