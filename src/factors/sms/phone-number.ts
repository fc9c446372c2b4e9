/**
 * Phone numbers for text-message codes (SECURITY.md rule 17): parsed and validated with
 * libphonenumber-js (the 'max' metadata, which knows number types), kept as E.164, so every
 * formatting variant of one number is one value — and one keyed hash for limits.
 *
 * Only numbers that can receive texts are taken: mobile, or "fixed line or mobile" where the
 * numbering plan does not tell them apart (the North American plan), or valid numbers whose
 * type the metadata does not know. Landlines, toll-free, premium-rate, shared-cost, VoIP,
 * personal, pager and voicemail numbers are refused: they either cannot receive a text or are
 * the classic SMS-pumping destinations, and NIST SP 800-63B §5.1.3.3 asks verifiers not to use
 * VoIP numbers for out-of-band codes.
 */
import { parsePhoneNumberWithError, ParseError, validatePhoneNumberLength, type NumberType } from 'libphonenumber-js/max';
import type { Keys } from '../../crypto/keys.ts';
import { hmacHex } from '../../crypto/tokens.ts';

export interface PhoneNumber {
  /** E.164: "+14155550123". */
  e164: string;
  /** Country calling code without "+": "1", "44". */
  countryCallingCode: string;
}

export type PhoneNumberParse = { ok: true; phone: PhoneNumber } | { ok: false; problem: string };

const TEXTABLE_TYPES = new Set<NumberType>(['MOBILE', 'FIXED_LINE_OR_MOBILE', undefined]);

const TYPE_NAMES: Partial<Record<Exclude<NumberType, undefined>, string>> = {
  FIXED_LINE: 'a landline',
  TOLL_FREE: 'a toll-free number',
  PREMIUM_RATE: 'a premium-rate number',
  SHARED_COST: 'a shared-cost number',
  VOIP: 'an internet (VoIP) number',
  PERSONAL_NUMBER: 'a personal (forwarding) number',
  PAGER: 'a pager number',
  UAN: 'a company (UAN) number',
  VOICEMAIL: 'a voicemail number',
};

const INTERNATIONAL_FORMAT = 'Enter it in international format: + then the country code and the number, for example +44 7400 123456.';

/** What a person typed → E.164, or a message naming the problem (answered as 400 invalid_phone). */
export function parsePhoneNumberInput(input: string): PhoneNumberParse {
  const text = input.trim();
  if (text.length === 0) return { ok: false, problem: `The phone number is empty. ${INTERNATIONAL_FORMAT}` };
  if (text.length > 40) return { ok: false, problem: 'The phone number is too long.' };
  if (!/[0-9]/.test(text)) return { ok: false, problem: `That is not a phone number. ${INTERNATIONAL_FORMAT}` };
  // "00" is the international prefix in most of the world; the library needs the "+".
  const international = text.startsWith('00') ? `+${text.slice(2)}` : text;
  if (!international.startsWith('+')) return { ok: false, problem: `The phone number has no country code. ${INTERNATIONAL_FORMAT}` };
  const lengthProblem = validatePhoneNumberLength(international);
  switch (lengthProblem) {
    case 'NOT_A_NUMBER':
      return { ok: false, problem: `That is not a phone number. ${INTERNATIONAL_FORMAT}` };
    case 'INVALID_COUNTRY':
      return { ok: false, problem: 'The phone number starts with an unknown country code.' };
    case 'TOO_SHORT':
      return { ok: false, problem: 'The phone number is too short.' };
    case 'TOO_LONG':
      return { ok: false, problem: 'The phone number is too long.' };
    case 'INVALID_LENGTH':
      return { ok: false, problem: 'The phone number has the wrong number of digits for its country.' };
  }
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(international);
  } catch (error) {
    if (error instanceof ParseError) return { ok: false, problem: `That is not a phone number. ${INTERNATIONAL_FORMAT}` };
    throw error;
  }
  // Never echo the number itself: error bodies carry no full phone number (rule 30).
  if (!parsed.isValid()) return { ok: false, problem: `That is not a valid phone number for country code +${parsed.countryCallingCode}.` };
  const type = parsed.getType();
  if (!TEXTABLE_TYPES.has(type)) {
    return { ok: false, problem: `That is ${TYPE_NAMES[type!] ?? 'a number that cannot receive texts'}; text messages need a mobile number.` };
  }
  return { ok: true, phone: { e164: parsed.number, countryCallingCode: parsed.countryCallingCode } };
}

/** The country calling code of a stored E.164 number. */
export function countryCallingCodeOf(e164: string): string {
  return parsePhoneNumberWithError(e164).countryCallingCode;
}

/**
 * "+1 •••• ••• 4567": the country code and the last four digits, always in the same pattern so
 * the mask does not even tell the number's length.
 */
export function maskPhoneNumber(e164: string): string {
  return `+${countryCallingCodeOf(e164)} •••• ••• ${e164.slice(-4)}`;
}

/** Keyed hash of the E.164 number: the per-number limit key, never reversible without the key. */
export function hashPhoneNumber(keys: Keys, e164: string): string {
  return hmacHex(keys.hashing, `phone:${e164}`);
}

/** Whether the operator's allow-list (SMS_ALLOWED_COUNTRY_CODES) lets texts go to this number. */
export function isCountryAllowed(allowed: readonly string[] | null, countryCallingCode: string): boolean {
  return allowed === null || allowed.includes(countryCallingCode);
}
