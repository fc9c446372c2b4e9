/**
 * Recovery codes as the fallback second factor (PRODUCT.md §2.7): a code stands in for the app or
 * the phone once, is then spent, and the user is told how many are left.
 */
import { recordSecurityEvent } from '../../audit/events.ts';
import type { SecondFactor } from '../factor.ts';
import { queueRecoveryCodeUsedNotice, recordWithNotice } from '../notices.ts';
import { consumeRecoveryCode, countUnusedRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.ts';

export const recoveryCodes: SecondFactor = {
  kind: 'recovery',
  role: 'fallback',
  sentByServer: false,
  sentenceName: 'Recovery codes',
  codeShape: 'recovery_code',
  codePrompt: 'Enter a recovery code like xxxxx-xxxxx.',
  verification: {
    title: 'Use a recovery code',
    label: 'Recovery code',
    hint: 'Like xxxxx-xxxxx; upper or lower case, with or without the hyphen.',
    intro: () => 'Enter one of the recovery codes you saved when you set up two-factor authentication. Each code works once.',
    switchLabel: 'Use a recovery code',
  },
  parseCode: (raw) => (typeof raw === 'string' && raw.length <= 64 ? normalizeRecoveryCode(raw) : null),
  verify: async (deps, owner, code, context) => {
    const used = await consumeRecoveryCode(deps.db, deps.clock, deps.keys, owner.userId, code);
    if (!used.ok) return false;
    await recordWithNotice(deps, async (trx) => {
      await recordSecurityEvent(trx, deps.clock, {
        type: 'recovery_code_used',
        accountId: owner.accountId,
        actor: { kind: 'user', userId: owner.userId },
        subjectUserId: owner.userId,
        origin: context.origin,
        detail: { remaining: used.remaining },
      });
      await queueRecoveryCodeUsedNotice(deps, trx, { userId: owner.userId, email: owner.email, name: owner.name }, context.origin, used.remaining);
    });
    return true;
  },
  describe: async (deps, userId) => {
    const remaining = await countUnusedRecoveryCodes(deps.db, userId);
    return remaining > 0 ? { kind: 'recovery', label: 'Recovery codes', icon: 'recovery-codes', detail: `${remaining} left` } : null;
  },
  remove: async (trx, userId) => {
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  },
};
