/** The common-password list (NIST SP 800-63B): what it refuses, and that the test fixtures pass it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCommonPassword } from '../../src/passwords/common-passwords.ts';
import { passwordWeakness } from '../../src/passwords/policy.ts';
import { PASSWORD } from '../helpers/fixtures.ts';

const POLICY = { passwordMinLength: 8, passwordMaxLength: 128 };

describe('common passwords', () => {
  it('finds the passwords the API tests use as common ones, in any case', () => {
    for (const password of ['password', 'iloveyou', 'Sunshine', 'trustno1', 'QWERTYUIOP', '12345678', 'PassWord']) {
      assert.equal(isCommonPassword(password), true, password);
      assert.equal(passwordWeakness(POLICY, password), 'common', password);
    }
  });

  it('lets the test fixtures\' passwords through (they must stay usable)', () => {
    const fixtures = [PASSWORD, 'a brand new password', 'a long enough password', 'a new long password', 'another good password', 'benchmark password', 'invitee password', 'long enough', 'long enough password', 'the brand new password', 'the invited password', 'the next password', 'the other user password', 'yet another password'];
    for (const password of fixtures) assert.equal(passwordWeakness(POLICY, password), null, password);
  });

  it('refuses by length before looking in the list', () => {
    assert.equal(passwordWeakness(POLICY, 'abc123'), 'length');
    assert.equal(passwordWeakness(POLICY, 'x'.repeat(129)), 'length');
  });
});
