/**
 * Phone numbers for SMS (SECURITY.md rule 17): libphonenumber-js decides validity, every
 * formatting of one number is one E.164 value and one key, and a refusal names the problem.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { deriveKeys } from '../../src/crypto/keys.ts';
import { hashPhoneNumber, isCountryAllowed, maskPhoneNumber, parsePhoneNumberInput } from '../../src/factors/sms/phone-number.ts';
import { generateSMSCode } from '../../src/factors/sms/sms-codes.ts';

const keys = deriveKeys(new Uint8Array(32).fill(3));

function e164(input: string): string {
  const parsed = parsePhoneNumberInput(input);
  assert.ok(parsed.ok, `${input}: ${parsed.ok ? '' : parsed.problem}`);
  return parsed.phone.e164;
}

function problem(input: string): string {
  const parsed = parsePhoneNumberInput(input);
  assert.ok(!parsed.ok, `${input} was accepted`);
  return parsed.problem;
}

describe('phone numbers', () => {
  it('accepts the PRODUCT test mobiles: +1 415 555 01xx and +44 7400 xxxxxx', () => {
    assert.equal(e164('+1 415 555 0123'), '+14155550123');
    assert.equal(e164('+1 415 555 0199'), '+14155550199');
    assert.equal(e164('+44 7400 123456'), '+447400123456');
  });

  it('maps formatting variants of one number to one E.164 value and one keyed hash', () => {
    const variants = ['+1 415 555 0123', '+14155550123', '+1 (415) 555-0123', '+1-415-555-0123', ' +1.415.555.0123 ', '001 415 555 0123'];
    const values = new Set(variants.map(e164));
    assert.deepEqual([...values], ['+14155550123']);
    assert.equal(new Set(variants.map((v) => hashPhoneNumber(keys, e164(v)))).size, 1);
    assert.equal(e164('+44 (0) 7400 123456'), e164('+447400123456'));
    assert.notEqual(hashPhoneNumber(keys, '+14155550123'), hashPhoneNumber(keys, '+14155550124'));
    assert.doesNotMatch(hashPhoneNumber(keys, '+14155550123'), /4155550123/);
  });

  it('refuses +44 7700 900xxx (not a valid number) and names each problem', () => {
    assert.match(problem('+44 7700 900123'), /not a valid phone number for country code \+44/);
    assert.match(problem('+1 415'), /too short/);
    assert.match(problem('+44 7400 1234567890'), /too long/);
    assert.match(problem('+999 123456'), /unknown country code/);
    assert.match(problem('415 555 0123'), /no country code/);
    assert.match(problem('call me'), /not a phone number/);
    assert.match(problem(''), /empty/);
  });

  it('refuses numbers that are known not to be mobiles', () => {
    assert.match(problem('+44 20 7946 0000'), /landline.*mobile number/);
    assert.match(problem('+1 800 555 0199'), /toll-free/);
  });

  it('never echoes the number in a refusal', () => {
    assert.doesNotMatch(problem('+44 7700 900123'), /7700|900123/);
  });

  it('masks as +CC •••• ••• and the last four digits', () => {
    assert.equal(maskPhoneNumber('+14155554567'), '+1 •••• ••• 4567');
    assert.equal(maskPhoneNumber('+447400123456'), '+44 •••• ••• 3456');
  });

  it('applies the allow-list of country calling codes, none meaning every country', () => {
    assert.equal(isCountryAllowed(null, '44'), true);
    assert.equal(isCountryAllowed(['1'], '44'), false);
    assert.equal(isCountryAllowed(['1', '44'], '44'), true);
  });

  it('reads SMS_ALLOWED_COUNTRY_CODES as calling codes, refusing ones that do not exist', () => {
    const key = Buffer.alloc(32, 1).toString('base64');
    assert.equal(loadConfig({ ENCRYPTION_KEY: key }).smsAllowedCountryCodes, null);
    assert.deepEqual(loadConfig({ ENCRYPTION_KEY: key, SMS_ALLOWED_COUNTRY_CODES: '1, +44' }).smsAllowedCountryCodes, ['1', '44']);
    assert.throws(() => loadConfig({ ENCRYPTION_KEY: key, SMS_ALLOWED_COUNTRY_CODES: '1,999' }), (error: unknown) => error instanceof ConfigError && /SMS_ALLOWED_COUNTRY_CODES.*"999"/.test(error.message));
    const policy = loadConfig({ ENCRYPTION_KEY: key }).policy;
    assert.deepEqual([policy.smsCodeMs, policy.smsCodeAttempts, policy.smsResendCooldownMs, policy.smsPerNumberPerWindow, policy.smsPerAccountPerWindow, policy.smsCapWindowMs], [600_000, 5, 30_000, 5, 20, 3_600_000]);
  });

  it('makes six-digit codes from the whole range', () => {
    const codes = Array.from({ length: 2000 }, generateSMSCode);
    assert.ok(codes.every((code) => /^[0-9]{6}$/.test(code)));
    assert.ok(new Set(codes).size > 1990);
    assert.ok(codes.some((code) => code.startsWith('0')), 'leading zeros are kept');
  });
});
