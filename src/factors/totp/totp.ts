/**
 * TOTP (RFC 6238) over HOTP (RFC 4226), built on the `otpauth` package's HMAC truncation.
 * Pure functions: no storage, no clock of their own — the caller passes the time.
 *
 * Authenticator apps use SHA-1, 6 digits and 30-second steps (PRODUCT.md §4); the generator
 * also takes RFC 6238's other parameters so it can be checked against every Appendix B vector.
 */
import { randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import { constantTimeEqual } from '../../crypto/tokens.ts';

export type TOTPAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface TOTPParameters {
  algorithm: TOTPAlgorithm;
  digits: number;
  periodSeconds: number;
}

/** What authenticator apps understand everywhere (Key URI format defaults). */
export const authenticatorAppParameters: TOTPParameters = { algorithm: 'SHA1', digits: 6, periodSeconds: 30 };

/** ±1 step: a code from the previous or next 30 seconds still counts (RFC 6238 §5.2, clock drift). */
export const acceptedStepWindow = 1;

/** 160 bits from the CSPRNG: RFC 4226 §4 R6 recommends 160, SECURITY.md rule 14 requires it. */
export function generateTOTPSecret(): Uint8Array {
  return new Uint8Array(randomBytes(20));
}

/** RFC 4648 base32, upper case, without '=' padding (the Key URI format asks for none): otpauth's own. */
export function encodeBase32(bytes: Uint8Array): string {
  return toOTPSecret(bytes).base32;
}

function toOTPSecret(secret: Uint8Array): OTPAuth.Secret {
  return new OTPAuth.Secret({ buffer: secret.slice().buffer });
}

/** HOTP value for one counter (RFC 4226 §5.3). */
export function generateHOTP(secret: Uint8Array, counter: number, parameters: Pick<TOTPParameters, 'algorithm' | 'digits'>): string {
  return OTPAuth.HOTP.generate({ secret: toOTPSecret(secret), counter, algorithm: parameters.algorithm, digits: parameters.digits });
}

/** The RFC 6238 time step T = floor((now - T0) / X) with T0 = 0. */
export function timeStepAt(timestampMs: number, periodSeconds: number): number {
  return Math.floor(timestampMs / 1000 / periodSeconds);
}

export function generateTOTP(secret: Uint8Array, timestampMs: number, parameters: TOTPParameters = authenticatorAppParameters): string {
  return generateHOTP(secret, timeStepAt(timestampMs, parameters.periodSeconds), parameters);
}

/**
 * The time step whose code `code` is, within ±window steps of `timestampMs`, or null. Every
 * candidate is compared (in constant time) so the answer's timing does not say which step
 * matched. When two steps give the same code the later one wins: the replay guard then burns
 * the most it can.
 */
export function findTOTPStep(secret: Uint8Array, code: string, timestampMs: number, parameters: TOTPParameters = authenticatorAppParameters, window = acceptedStepWindow): number | null {
  const current = timeStepAt(timestampMs, parameters.periodSeconds);
  let matched: number | null = null;
  for (let step = current - window; step <= current + window; step += 1) {
    if (step < 0) continue;
    if (constantTimeEqual(generateHOTP(secret, step, parameters), code)) matched = step;
  }
  return matched;
}

/**
 * The Key URI (Google Authenticator format): issuer both as label prefix and parameter, the
 * secret in base32 without padding, and the parameters spelled out even though they are the
 * defaults, since some apps ignore what they do not see. '@' stays readable: it is allowed in
 * a URI path segment (RFC 3986 pchar) and apps show the label as written.
 */
export function buildOtpauthURI(input: { issuer: string; accountName: string; secretBase32: string }): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%40/g, '@');
  const label = `${encode(input.issuer)}:${encode(input.accountName)}`;
  const { algorithm, digits, periodSeconds } = authenticatorAppParameters;
  return `otpauth://totp/${label}?secret=${input.secretBase32}&issuer=${encodeURIComponent(input.issuer)}&algorithm=${algorithm}&digits=${digits}&period=${periodSeconds}`;
}

/** The URI as a QR code, an SVG document the page can show inline. */
export async function renderQRCodeSVG(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
}
