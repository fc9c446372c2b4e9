/**
 * The one map from domain refusals to HTTP errors (STYLE.md convention 13). Domain functions
 * answer expected failures as values (`{ ok: false, reason }`); this module turns each reason
 * into the registry's HttpError (src/errors.ts): code, status, message or named variant, and
 * Retry-After where the refusal passes by itself. API routes throw what it answers; pages read
 * the same error's status and Retry-After, and show its message or their own words for the form
 * they re-render.
 *
 * The refusal shapes are written out here rather than imported, so this module depends on
 * nothing but the registry, and a domain outcome that changes shape fails to type-check at the
 * call rather than mapping silently to something else.
 */
import type { FastifyReply } from 'fastify';
import { HttpError, type ErrorBody } from '../errors.ts';
import type { CodeShape } from '../factors/factor.ts';

/** A lock ends by itself: the domain says when. */
type Locked = { reason: 'locked'; retryAfterSeconds: number };

function lockedError(refusal: Locked): HttpError<'too_many_attempts'> {
  return new HttpError('too_many_attempts', { retryAfterSeconds: refusal.retryAfterSeconds });
}

/** The password hashing queue is full: worth trying again in a second. */
function busyError(): HttpError<'server_busy'> {
  return new HttpError('server_busy', { retryAfterSeconds: 1 });
}

/** Sets Retry-After on a page's answer, as the error plugin does for the API's. */
export function answerRetryAfter(reply: FastifyReply, error: HttpError): void {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
}

/** The API's error body, for the few JSON answers that are not thrown (a page's script endpoint, health). */
export function errorBody(error: HttpError): ErrorBody {
  return { error: error.code, message: error.message };
}

// ---- passwords and identity ----

export type PasswordRefusal = { reason: 'invalid_credentials' } | { reason: 'locked'; retryAfterSeconds: number } | { reason: 'busy' };

/** A password refused at login, at re-authentication or on the disable link's page (rule 31: one answer for every wrong one). */
export function passwordRefusalError(refusal: PasswordRefusal): HttpError<'invalid_credentials' | 'too_many_attempts' | 'server_busy'> {
  switch (refusal.reason) {
    case 'locked':
      return lockedError(refusal);
    case 'busy':
      return busyError();
    case 'invalid_credentials':
      return new HttpError('invalid_credentials');
  }
}

type IdentityProofRefusal =
  | { reason: 'locked'; retryAfterSeconds: number }
  | { reason: 'neither_or_both' | 'malformed' | 'malformed_response' | 'invalid_code' | 'invalid_credentials' | 'busy' };

/** The password or a current code, re-entered before a sensitive action or to turn 2FA off. */
export function identityProofError(refusal: IdentityProofRefusal): HttpError<'too_many_attempts' | 'invalid_request' | 'server_busy' | 'invalid_code' | 'invalid_credentials'> {
  switch (refusal.reason) {
    case 'locked':
      return lockedError(refusal);
    case 'neither_or_both':
      return new HttpError('invalid_request', { variant: 'password_or_code' });
    case 'malformed':
      return new HttpError('invalid_request', { variant: 'code_not_six_digits' });
    case 'malformed_response':
      return new HttpError('invalid_request', { variant: 'response_not_assertion' });
    case 'busy':
      return busyError();
    case 'invalid_code':
    case 'invalid_credentials':
      return new HttpError(refusal.reason);
  }
}

// ---- sign-up, links, invitations ----

type PasswordWeakness = 'length' | 'common';

type SignupRefusal =
  | { reason: 'signup_disabled' | 'server_busy' | 'email_taken' }
  | { reason: 'weak_password'; weakness: PasswordWeakness }
  | { reason: 'rate_limited'; retryAfterSeconds: number };

/** A password that cannot be set: too short or long, or in the common-password list (NIST SP 800-63B). */
export function weakPasswordError(weakness: PasswordWeakness): HttpError<'weak_password'> {
  return new HttpError('weak_password', weakness === 'common' ? { variant: 'common_password' } : {});
}

export function signupError(refusal: SignupRefusal): HttpError<'signup_disabled' | 'weak_password' | 'server_busy' | 'email_taken' | 'rate_limited'> {
  switch (refusal.reason) {
    case 'rate_limited':
      return new HttpError('rate_limited', { retryAfterSeconds: refusal.retryAfterSeconds });
    case 'weak_password':
      return weakPasswordError(refusal.weakness);
    case 'server_busy':
      return busyError();
    default:
      return new HttpError(refusal.reason);
  }
}

/**
 * A password reset or an invitation that could not be used: expired, used and unknown links
 * read alike. (The API's answer for busy has never carried Retry-After; the pages add it.)
 */
export function linkError(refusal: { reason: 'link_expired' | 'busy' }): HttpError<'link_expired' | 'server_busy'> {
  return new HttpError(refusal.reason === 'busy' ? 'server_busy' : 'link_expired');
}

export function invitationError(refusal: { reason: 'email_taken' } | { reason: 'rate_limited'; retryAfterSeconds: number }): HttpError<'email_taken' | 'rate_limited'> {
  if (refusal.reason === 'rate_limited') return new HttpError('rate_limited', { variant: 'invitations_capped', retryAfterSeconds: refusal.retryAfterSeconds });
  return new HttpError(refusal.reason, { variant: 'invitation' });
}

export function resendInvitationError(refusal: { reason: 'not_found' | 'invitation_accepted' } | { reason: 'rate_limited'; retryAfterSeconds: number }): HttpError<'not_found' | 'invitation_accepted' | 'rate_limited'> {
  if (refusal.reason === 'rate_limited') return new HttpError('rate_limited', { variant: 'invitations_capped', retryAfterSeconds: refusal.retryAfterSeconds });
  return new HttpError(refusal.reason);
}

// ---- the second step of a login ----

type SecondFactorRefusal = { reason: 'locked'; retryAfterSeconds: number } | { reason: 'challenge_ended' | 'method_unavailable' | 'method_disallowed' | 'malformed' | 'invalid_code' };

/** How a malformed code is refused, by the shape its kind's codes have (`SecondFactor.codeShape`). */
const CODE_SHAPE_VARIANTS = { six_digits: 'code_not_six_digits', recovery_code: 'code_not_recovery_code', webauthn_response: 'response_not_assertion' } as const satisfies Record<CodeShape, string>;

/** A code refused at the Verification Code step; `codeShape`: the shape of the kind of code that was sent. */
export function secondFactorError(refusal: SecondFactorRefusal, codeShape: CodeShape): HttpError<'too_many_attempts' | 'unauthenticated' | 'invalid_request' | 'invalid_code' | 'method_disallowed'> {
  switch (refusal.reason) {
    case 'locked':
      return lockedError(refusal);
    case 'challenge_ended':
      // The login ended (expired, or five wrong codes) and its session with it.
      return new HttpError('unauthenticated');
    case 'method_unavailable':
      return new HttpError('invalid_request', { variant: 'no_sms_for_user' });
    case 'method_disallowed':
      return new HttpError('method_disallowed');
    case 'malformed':
      return new HttpError('invalid_request', { variant: CODE_SHAPE_VARIANTS[codeShape] });
    case 'invalid_code':
      return new HttpError('invalid_code');
  }
}

// ---- factors ----

type SMSRefusal =
  | { reason: 'invalid_phone'; problem: string }
  | { reason: 'unavailable' | 'delivery_failed' | 'not_enrolled' | 'challenge_ended' }
  | { reason: 'country_not_allowed'; countryCallingCode: string }
  | { reason: 'cooldown' | 'capped'; retryAfterSeconds: number };

/**
 * A text that was not sent, while enrolling a phone or at login. Never names another user or
 * the full number (rule 30).
 */
export function smsError(refusal: SMSRefusal, during: 'enrollment' | 'login'): HttpError<'invalid_phone' | 'sms_unavailable' | 'rate_limited' | 'sms_delivery_failed' | 'unauthenticated'> {
  switch (refusal.reason) {
    case 'invalid_phone':
      return new HttpError('invalid_phone', { detail: refusal.problem });
    case 'unavailable':
      return during === 'login' ? new HttpError('sms_unavailable', { variant: 'at_login' }) : new HttpError('sms_unavailable');
    case 'country_not_allowed':
      return during === 'login'
        ? new HttpError('sms_unavailable', { variant: 'country_at_login' })
        : new HttpError('invalid_phone', { detail: `This server does not send text messages to +${refusal.countryCallingCode} numbers.` });
    case 'cooldown':
      return new HttpError('rate_limited', { variant: 'sms_cooldown', retryAfterSeconds: refusal.retryAfterSeconds });
    case 'capped':
      return new HttpError('rate_limited', { variant: 'sms_capped', retryAfterSeconds: refusal.retryAfterSeconds });
    case 'delivery_failed':
      return new HttpError('sms_delivery_failed');
    case 'not_enrolled':
      return new HttpError('sms_unavailable', { variant: 'not_enrolled' });
    case 'challenge_ended':
      return new HttpError('unauthenticated');
  }
}

/** Confirming an app or a phone: a wrong code, or (app) an enrollment replaced or timed out. */
export function enrollmentConfirmationError(refusal: { reason: 'invalid_code' | 'enrollment_expired'; fromReplacedSecret?: boolean }): HttpError<'invalid_code' | 'enrollment_expired'> {
  if (refusal.reason === 'invalid_code' && refusal.fromReplacedSecret) return new HttpError('invalid_code', { variant: 'code_from_replaced_qr' });
  return new HttpError(refusal.reason);
}

/** A security key registration that was not accepted (its options, or the browser's answer). */
export function webauthnRefusalError(refusal: { reason: 'challenge_invalid' | 'invalid_response' | 'too_many_keys' | 'credential_taken' }): HttpError<'webauthn_refused'> {
  return refusal.reason === 'invalid_response' ? new HttpError('webauthn_refused') : new HttpError('webauthn_refused', { variant: refusal.reason });
}

/** Removing one of two methods. */
export function removeMethodError(refusal: { reason: 'not_enrolled' | 'last_method' }): HttpError<'two_factor_not_enabled' | 'last_method'> {
  return refusal.reason === 'last_method' ? new HttpError('last_method') : new HttpError('two_factor_not_enabled', { variant: 'method_not_on' });
}

type SendDisableLinkRefusal = { reason: 'not_found' | 'two_factor_not_enabled' } | { reason: 'rate_limited'; retryAfterSeconds: number };

/** The admin's request for a disable link (a user of another account reads as not found). */
export function sendDisableLinkError(refusal: SendDisableLinkRefusal): HttpError<'not_found' | 'two_factor_not_enabled' | 'rate_limited'> {
  if (refusal.reason === 'rate_limited') return new HttpError('rate_limited', { variant: 'disable_links_capped', retryAfterSeconds: refusal.retryAfterSeconds });
  return new HttpError(refusal.reason);
}

/** Using the disable link: the link cannot be used, or the password was refused. */
export function disableLinkError(refusal: PasswordRefusal | { reason: 'link_expired' }): HttpError<'link_expired' | 'invalid_credentials' | 'too_many_attempts' | 'server_busy'> {
  return refusal.reason === 'link_expired' ? new HttpError('link_expired') : passwordRefusalError(refusal);
}

// ---- accounts and users ----

export function enforcementError(refusal: { reason: 'admin_2fa_required' }): HttpError<'admin_2fa_required'> {
  return new HttpError(refusal.reason);
}

/** An allowed-methods change that cannot be saved. */
export function methodPolicyError(refusal: { reason: 'admin_2fa_required' | 'no_method_allowed' }): HttpError<'admin_2fa_required' | 'invalid_request'> {
  return refusal.reason === 'admin_2fa_required' ? new HttpError('admin_2fa_required', { variant: 'security_key' }) : new HttpError('invalid_request', { variant: 'no_method_allowed' });
}

/** A refused "Enforce from" date (staged enforcement, PRODUCT.md §2.10). */
export function enforceFromError(refusal: { reason: 'enforce_from_malformed' | 'enforce_from_past' | 'enforce_from_too_far' }): HttpError<'invalid_request'> {
  return new HttpError('invalid_request', { variant: refusal.reason });
}

/** A refused change of the account's policy: a method rule (409 or 400) or a bad "Enforce from" (400). */
export function policyChangeError(refusal: { reason: 'admin_2fa_required' | 'no_method_allowed' | 'enforce_from_malformed' | 'enforce_from_past' | 'enforce_from_too_far' }): HttpError<'admin_2fa_required' | 'invalid_request'> {
  return refusal.reason === 'admin_2fa_required' || refusal.reason === 'no_method_allowed' ? methodPolicyError({ reason: refusal.reason }) : enforceFromError({ reason: refusal.reason });
}

/** Changing a user's role or deactivating them (a user of another account reads as not found). */
export function userChangeError(refusal: { reason: 'not_found' | 'last_admin' }): HttpError<'not_found' | 'last_admin'> {
  return new HttpError(refusal.reason);
}

/**
 * A page of a list asked for with a cursor this server did not give out. The API names the
 * query parameter; the Users and Security log pages say where to start again.
 */
export function listPageError(_refusal: { reason: 'bad_cursor' }, shownOn: 'api' | 'users page' | 'security log page' = 'api'): HttpError<'invalid_request'> {
  const variant = shownOn === 'users page' ? 'unknown_users_page' : shownOn === 'security log page' ? 'unknown_log_page' : 'unknown_cursor';
  return new HttpError('invalid_request', { variant });
}

/** Starting an app enrollment from a session whose authentication is not recent (rules 12, 28). */
export function reauthenticationError(refusal: { reason: 'reauthentication_required' }): HttpError<'reauthentication_required'> {
  return new HttpError(refusal.reason);
}

/** A refused password change (passwords/change.ts), shared by the API and the page. */
export type ChangePasswordRefusal = PasswordRefusal | { reason: 'weak_password'; weakness: PasswordWeakness | 'same' };

export function changePasswordError(refusal: ChangePasswordRefusal): HttpError<'invalid_credentials' | 'too_many_attempts' | 'server_busy' | 'weak_password'> {
  if (refusal.reason !== 'weak_password') return passwordRefusalError(refusal);
  return refusal.weakness === 'same' ? new HttpError('weak_password', { variant: 'same_password' }) : weakPasswordError(refusal.weakness);
}
