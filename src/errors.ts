/**
 * The closed registry of error codes the API answers with (PRODUCT.md §3): each code has one
 * HTTP status and one fixed message for people. Fixed messages leak nothing; detail goes to
 * the log and the security log.
 *
 * Where one code must tell people more in a particular case — which field is wrong, why text
 * messages cannot be sent — the entry lists that case as a named `variant`: the answer keeps
 * the code and status and says the variant's words instead. The list is closed like the codes,
 * so every text a client can receive is in this file. Only `invalid_phone` takes a free `detail`:
 * the words about the number the person typed (its parser's verdict, or the country this server
 * does not text), which name nothing but their own input.
 */
export const errorCatalog = {
  invalid_request: {
    status: 400,
    message: 'The request is not valid.',
    variants: {
      code_not_six_digits: 'The request is not valid: body.code must be exactly 6 digits.',
      code_not_recovery_code: 'The request is not valid: body.code must be a recovery code like xxxxx-xxxxx.',
      response_not_assertion: 'The request is not valid: body.response must be the WebAuthn assertion the browser returned.',
      no_method_allowed: 'The request is not valid: allow at least one method.',
      enforce_from_malformed: 'The request is not valid: enforceFrom must be a date written YYYY-MM-DD, or null to enforce at once.',
      enforce_from_past: 'The request is not valid: enforceFrom must be a day after today (UTC); use null to enforce at once.',
      enforce_from_too_far: 'The request is not valid: enforceFrom must be at most 365 days ahead.',
      response_not_registration: 'The request is not valid: body.response must be the WebAuthn registration the browser returned.',
      password_or_code: 'The request is not valid: send exactly one of password, code or response.',
      method_not_totp_or_sms: 'The request is not valid: the method must be totp or sms.',
      takes_no_fields: 'The request is not valid: this request takes no fields; send no body or {}.',
      unknown_cursor: 'The request is not valid: querystring.cursor is not a cursor this server gave out.',
      url_contains_nul: 'The request is not valid: the URL contains a NUL character.',
      recovery_codes_need_2fa: 'Turn on two-factor authentication before making recovery codes.',
      no_sms_for_user: 'Text messages are not available for this user. Use the authenticator app or a recovery code.',
      /** The pages say where to go instead of naming the query parameter. */
      unknown_users_page: 'This page of users does not exist. Start again from the first page.',
      unknown_log_page: 'This page of the log does not exist. Start again from the first page.',
    },
  },
  invalid_phone: { status: 400, message: 'The phone number is not valid.', detail: 'what is wrong with the number the person typed' },
  sms_unavailable: {
    status: 400,
    message: 'Text messages are not available on this server. Use the authenticator app.',
    variants: {
      /** At login the way out is a recovery code too. */
      at_login: 'Text messages are not available on this server. Use the authenticator app or a recovery code.',
      country_at_login: "This server does not send text messages to your phone number's country. Use the authenticator app or a recovery code.",
      not_enrolled: 'Text messages are not turned on for you. Use the authenticator app or a recovery code.',
    },
  },
  weak_password: {
    status: 400,
    message: 'The password must be between 8 and 128 characters.',
    variants: { common_password: 'This password is too common: it appears in lists of leaked passwords. Choose another.', same_password: 'The new password is the same as the current one. Choose another.' },
  },
  invalid_credentials: { status: 401, message: 'The email or password is incorrect.' },
  unauthenticated: { status: 401, message: 'You need to log in.' },
  mfa_required: { status: 401, message: 'Finish logging in with your verification code.' },
  invalid_code: {
    status: 401,
    message: 'The code is not valid. Check it and try again.',
    variants: {
      /** Confirming the app with a code from the QR code this one replaced (issue 17). */
      code_from_replaced_qr: 'The QR code changed after you scanned it. In your authenticator app, remove the Twofold entry you just added, then scan the new QR code.',
    },
  },
  forbidden: { status: 403, message: 'You do not have permission to do that.' },
  csrf_rejected: { status: 403, message: 'The request did not come from this site. Reload the page and try again.' },
  enrollment_required: { status: 403, message: 'Your account requires two-factor authentication. Set it up to continue.' },
  reauthentication_required: { status: 403, message: 'Enter your password again to continue.' },
  '2fa_enforced': {
    status: 403,
    message: 'Your account administrator requires two-factor authentication.',
    variants: { cannot_disable: 'Your account administrator requires two-factor authentication, so it cannot be turned off. Ask an administrator if you lost your device.' },
  },
  signup_disabled: { status: 403, message: 'Sign-up is switched off on this server.' },
  not_found: { status: 404, message: 'Not found.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed here.' },
  email_taken: {
    status: 409,
    message: 'That email address cannot be used. Try logging in or use another address.',
    /** An admin inviting someone is not the one to log in: say only that the invitation cannot go there. */
    variants: { invitation: 'The invitation could not be sent to that address. Use another address.' },
  },
  last_admin: { status: 409, message: 'An account must keep at least one active administrator.' },
  invitation_accepted: { status: 409, message: 'This user has already accepted the invitation (or is deactivated), so there is nothing to resend.' },
  two_factor_not_enabled: {
    status: 409,
    message: 'This user has not turned on two-factor authentication.',
    variants: {
      /** Said to the user about themselves. */
      not_on: 'Two-factor authentication is not on.',
      method_not_on: 'That method is not on for you.',
    },
  },
  last_method: { status: 409, message: 'This is your only second factor. Use "Disable Two Factor" to turn two-factor authentication off.' },
  admin_2fa_required: {
    status: 409,
    message: 'Turn on two-factor authentication for yourself before enforcing it.',
    variants: { security_key: 'Add a security key for yourself before requiring a phishing-resistant method.' },
  },
  method_disallowed: { status: 403, message: 'Your account administrator does not allow this method. Use an allowed method or a recovery code.' },
  webauthn_refused: {
    status: 400,
    message: 'The security key was not accepted. Try again.',
    variants: {
      challenge_invalid: 'This security key prompt has expired or was already answered. Try again.',
      too_many_keys: 'You already have 10 security keys. Remove one before adding another.',
      credential_taken: 'This security key is already registered. Use another key.',
    },
  },
  webauthn_unavailable: { status: 400, message: 'Security keys are not available on this server.' },
  no_security_key: { status: 400, message: 'You have no security key. Use another method.' },
  enrollment_expired: { status: 410, message: 'This setup code has expired. Scan the new QR code.' },
  link_expired: { status: 410, message: 'This link has expired or was already used. Ask for a new one.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  headers_too_large: { status: 431, message: 'The request headers or URL are too large.' },
  unsupported_media_type: { status: 415, message: 'Send JSON (application/json) or a form.' },
  too_many_attempts: { status: 429, message: 'Too many attempts. Wait a while and try again.' },
  rate_limited: {
    status: 429,
    message: 'Too many requests. Wait a while and try again.',
    variants: {
      sms_cooldown: 'A code was texted a moment ago. Wait a little before asking for another.',
      sms_capped: 'Too many text messages were requested. Wait a while and try again.',
      disable_links_capped: 'A link was sent to this user several times in the last hour. Wait before sending another.',
      invitations_capped: 'As many invitations as allowed were sent in the last hour. Wait a while before inviting more people.',
    },
  },
  server_busy: {
    status: 503,
    message: 'The server is busy. Try again in a moment.',
    variants: { database_not_answering: 'The database does not answer.' },
  },
  limits_unavailable: {
    status: 503,
    message: 'Rate limits are unavailable; try again shortly.',
    variants: { redis_not_answering: 'Redis, where the rate limits count, does not answer.' },
  },
  sms_delivery_failed: { status: 503, message: 'We could not send the text message; try again.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; message: string; variants?: Record<string, string>; detail?: string }>;

type Catalog = typeof errorCatalog;

export type ErrorCode = keyof Catalog;

/** Every error answer's JSON body (PRODUCT.md §3). */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
}

/** The named variants of a code, if it has any (of any of the codes, for a union). */
export type ErrorVariant<Code extends ErrorCode> = Code extends ErrorCode ? (Catalog[Code] extends { variants: infer Variants } ? keyof Variants & string : never) : never;

/** The codes whose message may be replaced by a detail about the request (see the registry's note). */
type DetailCode = { [Code in ErrorCode]: Catalog[Code] extends { detail: string } ? Code : never }[ErrorCode];

export interface HttpErrorOptions<Code extends ErrorCode> {
  variant?: ErrorVariant<Code>;
  detail?: Code extends DetailCode ? string : never;
  /** Sent as the Retry-After header, for refusals that pass by themselves. */
  retryAfterSeconds?: number;
}

/** The words of a code, or of one of its variants. */
export function errorMessage<Code extends ErrorCode>(code: Code, variant?: ErrorVariant<Code>): string {
  const entry: { message: string; variants?: Record<string, string> } = errorCatalog[code];
  return (variant !== undefined ? entry.variants?.[variant] : undefined) ?? entry.message;
}

/** Thrown by HTTP handlers to answer with a registered error; the error plugin renders it. */
export class HttpError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly status: number;
  readonly variant: ErrorVariant<Code> | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: Code,
    options: HttpErrorOptions<Code> = {},
  ) {
    super(options.detail ?? errorMessage(code, options.variant));
    this.status = errorCatalog[code].status;
    this.variant = options.variant;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
