/**
 * NIST SP 800-63B §5.1.1: length is the rule (8 to 128 characters); no composition rules; and a
 * password found in a list of commonly used or breached passwords is refused (common-passwords.ts).
 */
import type { Policy } from '../config.ts';
import { isCommonPassword } from './common-passwords.ts';

/** Why a password cannot be set: its length, or its place in the common-password list. */
export type PasswordWeakness = 'length' | 'common';

export function passwordWeakness(policy: Pick<Policy, 'passwordMinLength' | 'passwordMaxLength'>, password: string): PasswordWeakness | null {
  const length = [...password].length;
  if (length < policy.passwordMinLength || length > policy.passwordMaxLength) return 'length';
  return isCommonPassword(password) ? 'common' : null;
}
