/**
 * The shape of what the browser sends back (`@simplewebauthn/browser`'s RegistrationResponseJSON
 * and AuthenticationResponseJSON), checked strictly before anything is verified: known fields
 * only, base64url strings of bounded length, no prototype keys (SECURITY.md rule 34). Anything
 * else is malformed — at login still a charged guess, like a malformed code (rule 33).
 */
import type { AuthenticationResponseJSON, AuthenticatorTransportFuture, RegistrationResponseJSON } from '@simplewebauthn/server';

/** Far above any real response (a few hundred bytes to a few KiB with attestation), far below the 64 KiB body limit. */
const MAX_FIELD_CHARS = 16_384;
const MAX_ID_CHARS = 1_366; // a credential ID is at most 1023 bytes
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const TRANSPORTS: readonly string[] = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'];

type Shape = Record<string, (value: unknown) => boolean>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** Every key known, every required key present, every value of its shape. */
function fits(value: unknown, required: Shape, optional: Shape = {}): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(required, key) && !Object.hasOwn(optional, key)) return false;
  }
  for (const [key, check] of Object.entries(required)) if (!Object.hasOwn(value, key) || !check(value[key])) return false;
  for (const [key, check] of Object.entries(optional)) if (Object.hasOwn(value, key) && value[key] !== undefined && !check(value[key])) return false;
  return true;
}

const base64url =
  (max: number, min = 1) =>
  (value: unknown): boolean =>
    typeof value === 'string' && value.length >= min && value.length <= max && BASE64URL.test(value);

const attachment = (value: unknown): boolean => value === 'platform' || value === 'cross-platform';
const publicKeyType = (value: unknown): boolean => value === 'public-key';
/** Extension outputs are not used; only a small plain object of booleans or small objects is let through. */
const extensionResults = (value: unknown): boolean => isPlainObject(value) && JSON.stringify(value).length <= 1024;
const transports = (value: unknown): boolean => Array.isArray(value) && value.length <= TRANSPORTS.length && value.every((item) => typeof item === 'string' && TRANSPORTS.includes(item));

/** An assertion (login, re-authentication), or null when it is not one. */
export function parseAuthenticationResponse(raw: unknown): AuthenticationResponseJSON | null {
  const outer = { id: base64url(MAX_ID_CHARS), rawId: base64url(MAX_ID_CHARS), type: publicKeyType, response: (value: unknown) => fits(value, { clientDataJSON: base64url(MAX_FIELD_CHARS), authenticatorData: base64url(MAX_FIELD_CHARS), signature: base64url(MAX_FIELD_CHARS) }, { userHandle: base64url(1024, 0) }), clientExtensionResults: extensionResults };
  if (!fits(raw, outer, { authenticatorAttachment: attachment })) return null;
  if (raw.id !== raw.rawId) return null;
  return raw as unknown as AuthenticationResponseJSON;
}

/** A registration (attestation), or null when it is not one. */
export function parseRegistrationResponse(raw: unknown): RegistrationResponseJSON | null {
  const inner = (value: unknown): boolean =>
    fits(
      value,
      { clientDataJSON: base64url(MAX_FIELD_CHARS), attestationObject: base64url(MAX_FIELD_CHARS) },
      { authenticatorData: base64url(MAX_FIELD_CHARS), transports, publicKeyAlgorithm: (v) => Number.isInteger(v) && Math.abs(v as number) < 2 ** 16, publicKey: base64url(MAX_FIELD_CHARS) },
    );
  if (!fits(raw, { id: base64url(MAX_ID_CHARS), rawId: base64url(MAX_ID_CHARS), type: publicKeyType, response: inner, clientExtensionResults: extensionResults }, { authenticatorAttachment: attachment })) return null;
  if (raw.id !== raw.rawId) return null;
  return raw as unknown as RegistrationResponseJSON;
}

/** The challenge a response says it answers (read before verifying, to find and consume its row), or null. */
export function claimedChallenge(clientDataJSON: string): string | null {
  try {
    const clientData: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
    if (!isPlainObject(clientData) || typeof clientData.challenge !== 'string' || !BASE64URL.test(clientData.challenge) || clientData.challenge.length > 512) return null;
    return clientData.challenge;
  } catch {
    return null;
  }
}

export function knownTransports(list: readonly string[]): AuthenticatorTransportFuture[] {
  return list.filter((item) => TRANSPORTS.includes(item)) as AuthenticatorTransportFuture[];
}
