/**
 * What a login proved, in OpenID Connect's words (PRODUCT.md §2.13; SECURITY.md rule 39): the
 * `amr` values (RFC 8176) and the `acr` level, read from the methods the session recorded
 * (`authMethods`: 'password', then the second factor's kind). Only what this login actually used
 * is claimed. The one table below is the whole mapping; a security key (WebAuthn) is the one
 * phishing-resistant method, so it alone reaches `phr`.
 *
 * Recovery codes are single-use codes printed for the user: RFC 8176 has no value of their own,
 * and they are one-time passwords in the RFC's sense, so they claim `otp` — and `mfa`, since they
 * are a second factor the account accepted.
 */
import { PASSWORD_METHOD } from './flow.ts';

/** Assurance levels, weakest first: the order `acr_values` are compared in. */
export const ASSURANCE_LEVELS = ['pwd', 'mfa', 'phr'] as const;
export type AssuranceLevel = (typeof ASSURANCE_LEVELS)[number];

const METHOD_ASSURANCE: Record<string, { amr: readonly string[]; level: AssuranceLevel }> = {
  [PASSWORD_METHOD]: { amr: ['pwd'], level: 'pwd' },
  totp: { amr: ['otp'], level: 'mfa' },
  sms: { amr: ['sms'], level: 'mfa' },
  recovery: { amr: ['otp'], level: 'mfa' },
  webauthn: { amr: ['hwk'], level: 'phr' },
};

export interface Assurance {
  amr: string[];
  acr: AssuranceLevel;
}

/** The amr and acr of a session's recorded methods; a method not in the table proves nothing. */
export function assuranceOf(authMethods: readonly string[]): Assurance {
  const amr = new Set<string>();
  let level = -1;
  let factors = 0;
  for (const method of authMethods) {
    const known = METHOD_ASSURANCE[method];
    if (!known) continue;
    for (const value of known.amr) amr.add(value);
    level = Math.max(level, ASSURANCE_LEVELS.indexOf(known.level));
    if (method !== PASSWORD_METHOD) factors += 1;
  }
  // RFC 8176 "mfa": more than one factor was used.
  if (factors > 0 && authMethods.includes(PASSWORD_METHOD)) amr.add('mfa');
  return { amr: [...amr], acr: ASSURANCE_LEVELS[Math.max(level, 0)]! };
}

/** Whether `acr` reaches the level `wanted` names; an unknown level is never reached. */
export function reachesLevel(acr: AssuranceLevel, wanted: string): boolean {
  const index = ASSURANCE_LEVELS.indexOf(wanted as AssuranceLevel);
  return index >= 0 && ASSURANCE_LEVELS.indexOf(acr) >= index;
}

export function isAssuranceLevel(value: string): value is AssuranceLevel {
  return (ASSURANCE_LEVELS as readonly string[]).includes(value);
}
