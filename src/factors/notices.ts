/**
 * E-mails telling a user what happened to their second factor (PRODUCT.md §2.8, SECURITY.md
 * rules 4 and 15). They say when, from where and what — never a code, secret or token.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { sendEmailInBackground } from '../delivery/delivery.ts';
import type { Deps } from '../deps.ts';

export interface NoticeRecipient {
  email: string;
  name: string;
}

type NoticeDeps = Pick<Deps, 'clock' | 'delivery' | 'log'>;

function whereFrom(deps: NoticeDeps, origin: RequestOrigin): string {
  return `Time: ${new Date(deps.clock.now()).toUTCString()}\nIP address: ${origin.ip ?? 'unknown'}\nBrowser or app: ${origin.userAgent ?? 'unknown'}`;
}

const NOT_YOU = 'If this was not you, change your password now and tell your account administrator.';

/** The factor a notice is about; a phone number appears only masked (rule 30). */
export type EnrolledFactor = { method: 'totp' } | { method: 'sms'; phoneMasked: string };

export function sendFactorEnrolledNotice(deps: NoticeDeps, to: NoticeRecipient, origin: RequestOrigin, factor: EnrolledFactor, replaced: boolean): void {
  let subject: string;
  let what: string;
  if (factor.method === 'sms') {
    subject = 'Text-message codes turned on for your Twofold account';
    what = replaced
      ? `The phone number that receives the codes of your Twofold account was changed to ${factor.phoneMasked}`
      : `Codes by text message to ${factor.phoneMasked} were turned on for two-factor authentication on your Twofold account`;
  } else {
    subject = 'Authenticator app added to your Twofold account';
    what = replaced ? 'The authenticator app of your Twofold account was replaced by a new one' : 'An authenticator app was added to your Twofold account for two-factor authentication';
  }
  sendEmailInBackground(deps.delivery.email, deps.log, {
    to: to.email,
    subject,
    text: `Hello ${to.name},\n\n${what}. Your other sessions were signed out.\n\n${whereFrom(deps, origin)}\n\n${NOT_YOU}\n`,
  });
}

export function sendRecoveryCodeUsedNotice(deps: NoticeDeps, to: NoticeRecipient, origin: RequestOrigin, remaining: number): void {
  sendEmailInBackground(deps.delivery.email, deps.log, {
    to: to.email,
    subject: 'A recovery code was used on your Twofold account',
    text: `Hello ${to.name},\n\nA recovery code was used to log in to your Twofold account. ${remaining} unused recovery codes remain; you can make a new set on the User Details page.\n\n${whereFrom(deps, origin)}\n\n${NOT_YOU}\n`,
  });
}

export function sendSecondFactorLockedNotice(deps: NoticeDeps, to: NoticeRecipient, origin: RequestOrigin, lockMinutes: number): void {
  sendEmailInBackground(deps.delivery.email, deps.log, {
    to: to.email,
    subject: 'Verification codes paused on your Twofold account',
    text: `Hello ${to.name},\n\nToo many wrong verification codes were entered for your Twofold account, so verification codes are refused for the next ${lockMinutes} minutes. The last attempt:\n\n${whereFrom(deps, origin)}\n\nSomeone who tries codes already knows your password. ${NOT_YOU}\n`,
  });
}
