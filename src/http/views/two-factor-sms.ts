/**
 * The SMS Message enrollment pages (PRODUCT.md §2.3 SMS Message, §6 labels): the "Phone number"
 * field with "Verify", then the "Confirm" field for the texted code. The page says plainly that
 * text messages are the weaker method and that the authenticator app is recommended
 * (SECURITY.md rule 19). The number is never echoed back in full once a code was sent: the
 * confirmation page shows it masked, as the API answers it.
 */
import { alertMessage, csrfField, inputField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { APP_ENROLLMENT_PATH } from './two-factor-app.ts';
import { codeField } from './two-factor-code-field.ts';

export const SMS_ENROLLMENT_PATH = '/user/two-factor/sms';
export const START_SMS_ENROLLMENT_PATH = '/user/two-factor/sms/enrollment';
export const CONFIRM_SMS_ENROLLMENT_PATH = '/user/two-factor/sms/confirm';

/** Rule 19: where SMS is offered, the app is offered too, and SMS is called the weaker choice. */
export const SMS_WEAKER_NOTE = 'Text messages are the weaker method: a stolen or swapped SIM card can expose the codes. The Mobile App (authenticator app) is recommended.';

function breadcrumb(): SafeHTML {
  return html`<p class="breadcrumb"><a href="/user">User Details</a></p>`;
}

function weakerNote(): SafeHTML {
  return html`<p class="aside">${SMS_WEAKER_NOTE} <a href="${APP_ENROLLMENT_PATH}">Set up the Mobile App instead</a>.</p>`;
}

export interface PhoneView {
  csrfToken: string;
  /** What the person typed, re-shown after a refusal (it is their own input). */
  phone?: string;
  alert?: string | null;
  /** Instead of "Verify", when a factor would be replaced by a session that is not recent. */
  passwordConfirmation: SafeHTML | null;
  enrollmentRequired: boolean;
}

/** Step 2 of §2.3 SMS Message: the phone number and "Verify". */
export function renderPhoneForm(view: PhoneView): SafeHTML {
  return html`${breadcrumb()}
<h1>SMS Message</h1>
${view.enrollmentRequired ? statusMessage('Your account administrator requires two-factor authentication. Confirming your phone completes your login.') : ''}
${alertMessage(view.alert)}
<p>We text a six-digit code to your phone each time you log in, after your password.</p>
${weakerNote()}
<section class="panel">
${view.passwordConfirmation ?? html`<form method="post" action="${START_SMS_ENROLLMENT_PATH}" class="stacked">
${csrfField(view.csrfToken)}
${inputField({ label: 'Phone number', name: 'phone', type: 'text', value: view.phone, autocomplete: 'tel', required: true, maxLength: 64, invalid: Boolean(view.alert), hint: 'Your mobile number with + and the country code, for example +44 7400 123456.' })}
<div><button type="submit" class="primary">Verify</button></div>
</form>`}
</section>`;
}

export interface SMSConfirmView {
  csrfToken: string;
  phoneMasked: string | null;
  alert?: string | null;
  notice?: string | null;
  enrollmentRequired: boolean;
}

/** Step 3 of §2.3 SMS Message: the texted code in "Confirm". */
export function renderSMSConfirm(view: SMSConfirmView): SafeHTML {
  return html`${breadcrumb()}
<h1>Enter the texted code</h1>
${view.enrollmentRequired ? statusMessage('Your account administrator requires two-factor authentication. Confirming your phone completes your login.') : ''}
${alertMessage(view.alert)}
${statusMessage(view.notice)}
<section class="panel">
<p>${view.phoneMasked ? `We texted a six-digit code to ${view.phoneMasked}. It works for 10 minutes.` : 'Enter the six-digit code we texted to your phone. It works for 10 minutes.'}</p>
<form method="post" action="${CONFIRM_SMS_ENROLLMENT_PATH}" class="stacked">
${csrfField(view.csrfToken)}
${codeField({ label: 'Confirm', name: 'code', id: 'field-confirm-code', kind: 'digits', hint: 'The six-digit code in the text message.', invalid: Boolean(view.alert) })}
<div><button type="submit" class="primary">Confirm</button></div>
</form>
<p class="aside">No text, or a wrong number? <a href="${SMS_ENROLLMENT_PATH}">Enter the number again</a>; the same number gets the code again after 30 seconds.</p>
</section>`;
}
