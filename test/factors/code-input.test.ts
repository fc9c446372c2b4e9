/**
 * What counts as a code (SECURITY.md rule 33, PRODUCT.md §6): exactly six ASCII digits for the
 * app, surrounding spaces forgiven; recovery codes in any case, hyphens and spaces ignored.
 * Anything else is refused before it reaches a comparison.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCode } from '../../src/factors/code-check.ts';
import { normalizeRecoveryCode } from '../../src/factors/recovery-codes/recovery-codes.ts';

describe('code input', () => {
  it('takes exactly six ASCII digits for the authenticator app, trimming surrounding spaces only', () => {
    assert.equal(parseCode('totp', '012345'), '012345');
    assert.equal(parseCode('totp', '  012345\t'), '012345');
    for (const bad of ['12345', '1234567', '١٢٣٤٥٦', '１２３４５６', '+12345', '-12345', '1e+05', '12 345', '12345\n6', '0x1234', '', 123456, 1e5, null, ['123456'], { code: '123456' }, '1'.repeat(10_000)]) {
      assert.equal(parseCode('totp', bad), null, JSON.stringify(bad)?.slice(0, 40));
    }
  });

  it('takes recovery codes in any case, with or without the hyphen and spaces', () => {
    assert.equal(normalizeRecoveryCode('abcde-fgh23'), 'abcdefgh23');
    assert.equal(normalizeRecoveryCode('ABCDE-FGH23'), 'abcdefgh23');
    assert.equal(normalizeRecoveryCode(' abcde fgh23 '), 'abcdefgh23');
    assert.equal(normalizeRecoveryCode('abcdefgh23'), 'abcdefgh23');
    for (const bad of ['abcde-fgh2', 'abcde-fgh231', 'abcde-fgh18', 'abcde_fgh23', 'äbcde-fgh23']) assert.equal(normalizeRecoveryCode(bad), null, bad);
  });
});
