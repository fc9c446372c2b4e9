/**
 * The account's allowed-methods policy (PRODUCT.md §2.9 last paragraph, §3 /account/policy;
 * SECURITY.md rule 37). An administrator allows any of the methods ("Mobile App", "SMS Message",
 * "Security Key") or requires a phishing-resistant one (security keys only). A user whose every
 * method is disallowed is treated as a user without 2FA: the session read derives that on every
 * request (sessions.ts), so the change reaches sessions already held, and nothing per user is
 * written. Recovery codes are not a method and stay usable (the way back for a lost key).
 */
import { sql } from 'kysely';
import type { Database } from '../storage/schema.ts';
import { POLICY_METHODS } from './account-policy.ts';

/** The phishing-resistant methods (security keys). */
export const PHISHING_RESISTANT_METHODS: readonly string[] = ['webauthn'];

export interface MethodPolicy {
  allowedMethods: string[];
  requirePhishingResistant: boolean;
}

/** The methods a login may use under a policy row (null: no row, the defaults). */
export function allowedMethodsOf(row: { allowed_methods: string | null; require_phishing_resistant: number | null } | null): string[] {
  if (!row || row.allowed_methods === null) return [...POLICY_METHODS];
  if (row.require_phishing_resistant === 1) return [...PHISHING_RESISTANT_METHODS];
  return row.allowed_methods.split(',').filter((kind) => kind !== '');
}

/** What a login may use under a policy: security keys only when phishing resistance is required. */
export function effectiveAllowed(policy: MethodPolicy): string[] {
  return policy.requirePhishingResistant ? [...PHISHING_RESISTANT_METHODS] : policy.allowedMethods;
}

/** Active users of the account who have a method but none the policy allows: they would be sent to setup. */
export async function countAffectedUsers(db: Database, accountId: string, policy: MethodPolicy): Promise<number> {
  const allowed = effectiveAllowed(policy);
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('users.account_id', '=', accountId)
    .where('users.active', '=', 1)
    .where(({ exists, selectFrom }) => exists(selectFrom('factors').select(sql.lit(1).as('one')).whereRef('factors.user_id', '=', 'users.id')))
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('factors').select(sql.lit(1).as('one')).whereRef('factors.user_id', '=', 'users.id').where('factors.kind', 'in', allowed))))
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}
