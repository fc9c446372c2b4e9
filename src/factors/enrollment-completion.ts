/**
 * What storing any newly confirmed second factor does, the same for every kind (PRODUCT.md §2.3,
 * §2.7; SECURITY.md rules 15, 16, 21), inside the transaction that stores the factor: a first set
 * of recovery codes when this factor turns 2FA on, the admin's outstanding disable links voided, the user's other sessions
 * signed out, the `factor_enrolled` security event — so a crash can never leave a new factor
 * beside the sessions it was meant to end. What follows the commit (a login that stopped at
 * enrollment completes, the user is e-mailed) is the login's: `login/enrollment-step.ts`.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { voidLinks } from '../links/links.ts';
import { revokeUserSessions } from '../sessions/sessions.ts';
import type { Database } from '../storage/schema.ts';
import type { EnrolledFactor } from './notices.ts';
import { replaceRecoveryCodes } from './recovery-codes/recovery-codes.ts';
import { endAllTrustedBrowsers } from '../trusted-browsers/trusted-browsers.ts';

/** A factor stored by its kind's confirmation, with the new recovery codes if any; the login finishes it. */
export interface StoredFactor {
  ok: true;
  factor: EnrolledFactor;
  replaced: boolean;
  /** Null when the user already had another method: their saved codes stay (issue 13). */
  recoveryCodes: string[] | null;
}

/**
 * Inside the factor's transaction; answers the new recovery codes, or null when the user kept
 * theirs. Recovery codes belong to the user, not to a method: adding a second method (or
 * replacing one beside another) keeps the set the user saved — replacing it silently would
 * leave them holding codes that no longer work. Only a factor that turns 2FA on (no other
 * method) issues a set; regenerating stays an explicit action (User Details).
 */
export async function recordFactorEnrolled(
  trx: Database,
  deps: Pick<Deps, 'clock' | 'keys' | 'delivery'>,
  session: { userId: string; accountId: string; tokenHash: string },
  input: { method: string; replaced: boolean; issueRecoveryCodes?: boolean; keyName?: string },
  origin: RequestOrigin,
): Promise<string[] | null> {
  // Recovery codes come with the first method only: a second kind of factor, or a further
  // security key (`issueRecoveryCodes: false`), leaves the saved codes alone.
  const otherMethod = await trx.selectFrom('factors').select('id').where('user_id', '=', session.userId).where('kind', '!=', input.method).executeTakeFirst();
  const recoveryCodes = otherMethod || input.issueRecoveryCodes === false ? null : await replaceRecoveryCodes(trx, deps.clock, deps.keys, session.userId);
  // A user who has a working factor again no longer needs the admin's disable link (rule 21).
  await voidLinks(trx, deps.clock, 'disable_2fa', session.userId);
  // Whoever else holds a session of this user (perhaps the reason for a new factor) is out (rule 15).
  await revokeUserSessions(trx, deps.delivery.queue, session.userId, session.tokenHash, 'two_factor_changed');
  // …and no browser trusted before it skips the code any more (PRODUCT.md §2.11).
  await endAllTrustedBrowsers(trx, deps.clock, session, 'factor_added', { origin });
  await recordSecurityEvent(trx, deps.clock, {
    type: 'factor_enrolled',
    accountId: session.accountId,
    actor: { kind: 'user', userId: session.userId },
    subjectUserId: session.userId,
    origin,
    detail: { method: input.method, replaced: input.replaced, ...(input.keyName !== undefined ? { keyName: input.keyName } : {}) },
  });
  return recoveryCodes;
}
