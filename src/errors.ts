/**
 * The closed registry of error codes the API answers with (PRODUCT.md §3): each code has one
 * HTTP status and one fixed message for people. Fixed messages leak nothing; detail goes to
 * the log and the security log.
 */
export const errorCatalog = {
  invalid_request: { status: 400, message: 'The request is not valid.' },
  invalid_phone: { status: 400, message: 'The phone number is not valid.' },
  sms_unavailable: { status: 400, message: 'Text messages are not available on this server. Use the authenticator app.' },
  weak_password: { status: 400, message: 'The password must be between 8 and 128 characters.' },
  invalid_credentials: { status: 401, message: 'The email or password is incorrect.' },
  unauthenticated: { status: 401, message: 'You need to log in.' },
  mfa_required: { status: 401, message: 'Finish logging in with your verification code.' },
  invalid_code: { status: 401, message: 'The code is not valid. Check it and try again.' },
  forbidden: { status: 403, message: 'You do not have permission to do that.' },
  csrf_rejected: { status: 403, message: 'The request did not come from this site. Reload the page and try again.' },
  enrollment_required: { status: 403, message: 'Your account requires two-factor authentication. Set it up to continue.' },
  reauthentication_required: { status: 403, message: 'Enter your password again to continue.' },
  '2fa_enforced': { status: 403, message: 'Your account administrator requires two-factor authentication.' },
  signup_disabled: { status: 403, message: 'Sign-up is switched off on this server.' },
  not_found: { status: 404, message: 'Not found.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed here.' },
  email_taken: { status: 409, message: 'That email address cannot be used. Try logging in or use another address.' },
  last_admin: { status: 409, message: 'An account must keep at least one active administrator.' },
  two_factor_not_enabled: { status: 409, message: 'This user has not turned on two-factor authentication.' },
  last_method: { status: 409, message: 'This is your only second factor. Use "Disable Two Factor" to turn two-factor authentication off.' },
  admin_2fa_required: { status: 409, message: 'Turn on two-factor authentication for yourself before enforcing it.' },
  enrollment_expired: { status: 410, message: 'This setup code has expired. Scan the new QR code.' },
  link_expired: { status: 410, message: 'This link has expired or was already used. Ask for a new one.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  headers_too_large: { status: 431, message: 'The request headers or URL are too large.' },
  unsupported_media_type: { status: 415, message: 'Send JSON (application/json) or a form.' },
  too_many_attempts: { status: 429, message: 'Too many attempts. Wait a while and try again.' },
  rate_limited: { status: 429, message: 'Too many requests. Wait a while and try again.' },
  server_busy: { status: 503, message: 'The server is busy. Try again in a moment.' },
  limits_unavailable: { status: 503, message: 'Rate limits are unavailable; try again shortly.' },
  sms_delivery_failed: { status: 503, message: 'We could not send the text message; try again.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalog;

/** Thrown by HTTP handlers to answer with a registered error; the error plugin renders it. */
export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message ?? errorCatalog[code].message);
    this.status = errorCatalog[code].status;
  }
}
