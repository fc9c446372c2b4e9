/**
 * A new set of recovery codes on the user's request (PRODUCT.md §2.7): the old set is void and
 * the security-log entry is written in the same transaction. Callers check recent
 * authentication first (SECURITY.md rule 16).
 */
import type { RequestOrigin } from '../../audit/events.ts';
import { recordSecurityEvent } from '../../audit/events.ts';
import type { Deps } from '../../deps.ts';
import { replaceRecoveryCodes } from './recovery-codes.ts';

export async function regenerateRecoveryCodes(deps: Pick<Deps, 'db' | 'clock' | 'keys'>, who: { userId: string; accountId: string }, origin: RequestOrigin): Promise<string[]> {
  return deps.db.transaction().execute(async (trx) => {
    const codes = await replaceRecoveryCodes(trx, deps.clock, deps.keys, who.userId);
    await recordSecurityEvent(trx, deps.clock, { type: 'recovery_codes_regenerated', accountId: who.accountId, actor: { kind: 'user', userId: who.userId }, subjectUserId: who.userId, origin });
    return codes;
  });
}
