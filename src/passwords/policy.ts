/** NIST SP 800-63B §5.1.1: length is the rule (8 to 128 characters); no composition rules. */
import type { Policy } from '../config.ts';

export function isAcceptablePassword(policy: Pick<Policy, 'passwordMinLength' | 'passwordMaxLength'>, password: string): boolean {
  const length = [...password].length;
  return length >= policy.passwordMinLength && length <= policy.passwordMaxLength;
}
