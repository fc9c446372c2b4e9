/**
 * E-mails telling a user what happened to their second factor (PRODUCT.md §2.8, SECURITY.md
 * rules 4 and 15). Their words are in notices/email-texts.ts.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { sendEmailInBackground } from '../delivery/delivery.ts';
import type { Deps } from '../deps.ts';
import { factorEnrolledEmail, recoveryCodeUsedEmail, secondFactorLockedEmail, type NoticeFactor } from '../notices/email-texts.ts';

export interface NoticeRecipient {
  email: string;
  name: string;
}

type NoticeDeps = Pick<Deps, 'clock' | 'delivery' | 'log'>;

/** The factor a notice is about; a phone number appears only masked (rule 30). */
export type EnrolledFactor = NoticeFactor;

export function sendFactorEnrolledNotice(deps: NoticeDeps, to: NoticeRecipient, origin: RequestOrigin, factor: EnrolledFactor, replaced: boolean): void {
  sendEmailInBackground(deps.delivery.email, deps.log, { to: to.email, ...factorEnrolledEmail({ name: to.name, factor, replaced, atMs: deps.clock.now(), origin }) });
}

export function sendRecoveryCodeUsedNotice(deps: NoticeDeps, to: NoticeRecipient, origin: RequestOrigin, remaining: number): void {
  sendEmailInBackground(deps.delivery.email, deps.log, { to: to.email, ...recoveryCodeUsedEmail({ name: to.name, remaining, atMs: deps.clock.now(), origin }) });
}

export function sendSecondFactorLockedNotice(deps: NoticeDeps, to: NoticeRecipient, origin: RequestOrigin, lockMinutes: number): void {
  sendEmailInBackground(deps.delivery.email, deps.log, { to: to.email, ...secondFactorLockedEmail({ name: to.name, lockMinutes, atMs: deps.clock.now(), origin }) });
}
