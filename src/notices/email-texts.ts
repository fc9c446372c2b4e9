/**
 * Every e-mail Twofold sends, in one place: one function per message, each answering its
 * subject and plain-text body. The domain modules decide when to send and to whom; the words
 * are here, so they can be read, reviewed and changed together.
 *
 * Texts take plain values only — names, masked numbers, links, times — and import nothing, so
 * any module may use them without an import cycle. They say when, from where and what, and
 * never hold a code, a secret or a full phone number (SECURITY.md rules 4, 24, 30). The links
 * in them are built by the caller from PUBLIC_URL alone (rule 23).
 */

export interface EmailText {
  subject: string;
  text: string;
}

/** Where the request came from, as the security log records it. */
export interface NoticeOrigin {
  ip: string | null;
  userAgent: string | null;
}

/** A time in milliseconds since the epoch, as the notices show it (RFC 7231 style, UTC). */
function formatTime(atMs: number): string {
  return new Date(atMs).toUTCString();
}

function whereFrom(atMs: number, origin: NoticeOrigin): string {
  return `Time: ${formatTime(atMs)}\nIP address: ${origin.ip ?? 'unknown'}\nBrowser or app: ${origin.userAgent ?? 'unknown'}`;
}

const NOT_YOU = 'If this was not you, change your password now and tell your account administrator.';

/** The factor a notice is about; a phone number appears only masked (rule 30). */
export type NoticeFactor = { method: 'totp' } | { method: 'sms'; phoneMasked: string } | { method: 'webauthn'; keyName: string };

/** A factor was confirmed (SECURITY.md rule 15); `replaced` when it took the place of one of the same kind. */
export function factorEnrolledEmail({ name, factor, replaced, atMs, origin }: { name: string; factor: NoticeFactor; replaced: boolean; atMs: number; origin: NoticeOrigin }): EmailText {
  let subject: string;
  let what: string;
  if (factor.method === 'sms') {
    subject = 'Text-message codes turned on for your Twofold account';
    what = replaced
      ? `The phone number that receives the codes of your Twofold account was changed to ${factor.phoneMasked}`
      : `Codes by text message to ${factor.phoneMasked} were turned on for two-factor authentication on your Twofold account`;
  } else if (factor.method === 'webauthn') {
    subject = 'Security key added to your Twofold account';
    what = `A security key named "${factor.keyName}" was added to your Twofold account for two-factor authentication`;
  } else {
    subject = 'Authenticator app added to your Twofold account';
    what = replaced ? 'The authenticator app of your Twofold account was replaced by a new one' : 'An authenticator app was added to your Twofold account for two-factor authentication';
  }
  return { subject, text: `Hello ${name},\n\n${what}. Your other sessions were signed out.\n\n${whereFrom(atMs, origin)}\n\n${NOT_YOU}\n` };
}

export function recoveryCodeUsedEmail({ name, remaining, atMs, origin }: { name: string; remaining: number; atMs: number; origin: NoticeOrigin }): EmailText {
  return {
    subject: 'A recovery code was used on your Twofold account',
    text: `Hello ${name},\n\nA recovery code was used to log in to your Twofold account. ${remaining} unused recovery codes remain; you can make a new set on the User Details page.\n\n${whereFrom(atMs, origin)}\n\n${NOT_YOU}\n`,
  };
}

/** Second-factor attempts were locked (SECURITY.md rule 4): the last attempt's time and origin. */
export function secondFactorLockedEmail({ name, lockMinutes, atMs, origin }: { name: string; lockMinutes: number; atMs: number; origin: NoticeOrigin }): EmailText {
  return {
    subject: 'Verification codes paused on your Twofold account',
    text: `Hello ${name},\n\nToo many wrong verification codes were entered for your Twofold account, so verification codes are refused for the next ${lockMinutes} minutes. The last attempt:\n\n${whereFrom(atMs, origin)}\n\nSomeone who tries codes already knows your password. ${NOT_YOU}\n`,
  };
}

/** How two-factor authentication was turned off (PRODUCT.md §2.5-2.7). */
export type DisabledBy = 'self' | 'disable_link' | 'support';

const DISABLED_BY_TEXT: Record<DisabledBy, string> = {
  self: 'You turned off two-factor authentication',
  disable_link: 'Two-factor authentication was turned off with the disable link your administrator sent you',
  support: 'Our support team turned off two-factor authentication at your request',
};

/** Every factor is gone (SECURITY.md rule 24); `accountEnforces` says whether setup comes back at the next login. */
export function twoFactorDisabledEmail({ name, by, accountEnforces, atMs, origin }: { name: string; by: DisabledBy; accountEnforces: boolean; atMs: number; origin: NoticeOrigin }): EmailText {
  const next = accountEnforces ? 'Your account requires two-factor authentication, so you will set it up again the next time you log in.' : 'You can turn it on again from the User Details page; we recommend it.';
  return {
    subject: 'Two-factor authentication was turned off on your Twofold account',
    text: `Hello ${name},\n\n${DISABLED_BY_TEXT[by]}. Your recovery codes no longer work and every session of your account was signed out.\n\nTime: ${formatTime(atMs)}\nIP address: ${origin.ip ?? 'unknown'}${by === 'support' ? ' (support)' : ''}\nBrowser or app: ${origin.userAgent ?? 'unknown'}\n\n${next}\n\nIf this was not you, reset your password now and tell your account administrator.\n`,
  };
}

/** One of two methods was removed; the other stays on. */
/** `methodName`: the removed kind as a sentence begins with it (`SecondFactor.sentenceName`). */
export function methodRemovedEmail({ name, methodName, atMs, origin }: { name: string; methodName: string; atMs: number; origin: NoticeOrigin }): EmailText {
  return {
    subject: 'A second factor was removed from your Twofold account',
    text: `Hello ${name},\n\n${methodName} can no longer be used to log in to your Twofold account; your other method stays on.\n\nTime: ${formatTime(atMs)}\nIP address: ${origin.ip ?? 'unknown'}\nBrowser or app: ${origin.userAgent ?? 'unknown'}\n\nIf this was not you, reset your password now and tell your account administrator.\n`,
  };
}

/** The admin's disable link (PRODUCT.md §2.6), to the user only; the admin never sees it (rule 21). */
export function disableLinkEmail({ name, adminName, link, atMs, ip }: { name: string; adminName: string; link: string; atMs: number; ip: string | null }): EmailText {
  return {
    subject: 'A link to turn off two-factor authentication on your Twofold account',
    text: `Hello ${name},\n\n${adminName}, an administrator of your account, sent you this link because you may have lost the device you use for two-factor authentication.\n\nTo turn two-factor authentication off, open the link and enter your password (it works once and for 24 hours; a newer link replaces it):\n${link}\n\nSent: ${formatTime(atMs)}, from IP address ${ip ?? 'unknown'}.\n\nIf you did not ask for this, ignore this e-mail — nothing changes unless your password is entered on that page — and tell your administrator.\n`,
  };
}

export function invitationEmail({ name, inviterName, accountName, link }: { name: string; inviterName: string; accountName: string; link: string }): EmailText {
  return {
    subject: `You are invited to ${accountName} on Twofold`,
    text: `Hello ${name},\n\n${inviterName} invited you to the account "${accountName}" on Twofold.\n\nSet your password to join (the link works once and for 7 days):\n${link}\n\nIf you did not expect this invitation, you can ignore this e-mail.\n`,
  };
}

/** Sign-up's proof that the address is the user's (issue 17). */
export function emailVerificationEmail({ name, link }: { name: string; link: string }): EmailText {
  return {
    subject: 'Verify your e-mail address for Twofold',
    text: `Hello ${name},\n\nPlease confirm that this is your e-mail address by opening this link and clicking "Verify email address" (the link works once and for 7 days):\n${link}\n\nIf you did not create a Twofold account, you can ignore this e-mail.\n`,
  };
}

/** The user changed their password on User Details (a security notice, PRODUCT.md §2.8). */
export function passwordChangedEmail({ name, atMs, origin }: { name: string; atMs: number; origin: NoticeOrigin }): EmailText {
  return {
    subject: 'The password of your Twofold account was changed',
    text: `Hello ${name},\n\nThe password of your Twofold account was changed. Every other session of your account was signed out.\n\n${whereFrom(atMs, origin)}\n\nIf this was not you, reset your password now with "Forgot password?" on the login page and tell your account administrator.\n`,
  };
}

export function passwordResetEmail({ name, link, atMs, ip }: { name: string; link: string; atMs: number; ip: string | null }): EmailText {
  return {
    subject: 'Reset your Twofold password',
    text: `Hello ${name},\n\nSomeone asked to reset the password of your Twofold account on ${formatTime(atMs)} from IP ${ip ?? 'unknown'}.\n\nChoose a new password here (the link works once and for 24 hours):\n${link}\n\nIf it was not you, ignore this e-mail: your password stays as it is.\n`,
  };
}

/** To every active user of the account when an admin turns enforcement on or off (PRODUCT.md §2.4). */
export function enforcementChangedEmail({ name, adminName, accountName, enforce, atMs }: { name: string; adminName: string; accountName: string; enforce: boolean; atMs: number }): EmailText {
  const when = formatTime(atMs);
  if (enforce) {
    return {
      subject: `${accountName} now requires two-factor authentication`,
      text: `Hello ${name},\n\n${adminName}, an administrator of "${accountName}", turned on two-factor authentication for everyone in the account on ${when}.\n\nIf you have not set up a second factor yet, you will be asked to do so the next time you use Twofold: an authenticator app on your phone, or text messages.\n`,
    };
  }
  return {
    subject: `${accountName} no longer requires two-factor authentication`,
    text: `Hello ${name},\n\n${adminName}, an administrator of "${accountName}", stopped requiring two-factor authentication for the account on ${when}.\n\nYour own two-factor authentication stays as it is; we recommend keeping it on.\n`,
  };
}

/**
 * Staged enforcement (PRODUCT.md §2.10): sent to each user the enforcement will affect when it is
 * saved, 7 days and 1 day before the date. `day` is `YYYY-MM-DD` (from 00:00 UTC).
 */
export function stagedEnforcementEmail({ name, accountName, day, daysLeft, setupURL }: { name: string; accountName: string; day: string; daysLeft: number; setupURL: string }): EmailText {
  const when = daysLeft <= 1 ? 'tomorrow' : `in ${daysLeft} days`;
  return {
    subject: `Set up two-factor authentication before ${day}`,
    text: `Hello ${name},\n\n"${accountName}" requires two-factor authentication from ${day} (00:00 UTC), ${when}.\n\nSet it up now: ${setupURL}\n\nFrom that date on you will have to set it up before you can do anything else in Twofold.\n`,
  };
}

/**
 * The end of every security notice (PRODUCT.md §2.12): the single-use "This wasn't me" link.
 * Added by notices/security-notice.ts, the one place notices are queued with it.
 */
export function withReportLink(notice: EmailText, link: string): EmailText {
  return {
    subject: notice.subject,
    text: `${notice.text}\nWas this not you? Open this link and choose "Secure my account": it signs out every session of your account, removes a factor that was just added, and sends you a link to choose a new password (it works once and for 7 days):\n${link}\n`,
  };
}

/** A completed login from a browser this user had not logged in from before. */
export function newBrowserLoginEmail({ name, browser, atMs, origin }: { name: string; browser: string; atMs: number; origin: NoticeOrigin }): EmailText {
  return {
    subject: 'New login to your Twofold account',
    text: `Hello ${name},\n\nYour Twofold account was logged in to from a browser it had not been used from before (${browser}).\n\n${whereFrom(atMs, origin)}\n\nIf this was you, there is nothing to do.\n`,
  };
}

/** The password of the account was reset with an e-mailed link. */
export function passwordWasResetEmail({ name, atMs, origin }: { name: string; atMs: number; origin: NoticeOrigin }): EmailText {
  return {
    subject: 'Your Twofold password was changed',
    text: `Hello ${name},\n\nThe password of your Twofold account was reset with a link sent to this address, and every session of your account was signed out.\n\n${whereFrom(atMs, origin)}\n`,
  };
}

/** To the user after "Secure my account" (PRODUCT.md §2.12): what happened, and the reset link. */
export function accountSecuredEmail({ name, link, factorRemoved, atMs }: { name: string; link: string; factorRemoved: boolean; atMs: number }): EmailText {
  return {
    subject: 'Your Twofold account was secured: choose a new password',
    text: `Hello ${name},\n\nOn ${formatTime(atMs)} "Secure my account" was chosen from a security notice of your Twofold account. Every session was signed out${factorRemoved ? ', the second factor the notice was about was removed,' : ''} and logging in with the current password is blocked until a new one is chosen.\n\nChoose a new password here (the link works once and for 24 hours):\n${link}\n\nYour account administrators were told.\n`,
  };
}

/** To each administrator of the account after a user reported a notice as not them. */
export function suspiciousActivityAdminEmail({ name, userName, userEmail, accountName, atMs, origin }: { name: string; userName: string; userEmail: string; accountName: string; atMs: number; origin: NoticeOrigin }): EmailText {
  return {
    subject: `Suspicious activity reported on ${accountName}`,
    text: `Hello ${name},\n\n${userName} (${userEmail}) said a security notice of their Twofold account was not them and chose "Secure my account". Their sessions were signed out and they must choose a new password before logging in again. The security log on Settings > Security log has the details.\n\n${whereFrom(atMs, origin)}\n\nYou may want to talk to them and check the account's recent events.\n`,
  };
}
