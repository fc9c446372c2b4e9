/**
 * The account's allowed-methods policy (PRODUCT.md §2.9 last paragraph, §3 /account/policy;
 * SECURITY.md rule 37). An administrator allows any of the methods ("Mobile App", "SMS Message",
 * "Security Key") or requires a phishing-resistant one (security keys only). A user whose every
 * method is disallowed is treated as a user without 2FA: the session read derives that on every
 * request (sessions.ts), so the change reaches sessions already held, and nothing per user is
 * written. Recovery codes are not a method and stay usable (the way back for a lost key).
 */
import { sql } from 'kysely';
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import type { Database } from '../storage/schema.ts';

/** The methods a policy can name, in the registry's order (the registry's methods; kept here so storage-level reads need no registry). */
export const POLICY_METHODS = ['totp', 'sms', 'webauthn'] as const;
/** The phishing-resistant methods (security keys). */
export const PHISHING_RESISTANT_METHODS: readonly string[] = ['webauthn'];

export interface MethodPolicy {
  allowedMethods: string[];
  requirePhishingResistant: boolean;
}

export const DEFAULT_METHOD_POLICY: MethodPolicy = { allowedMethods: [...POLICY_METHODS], requirePhishingResistant: false };

/** The methods a login may use under a policy row (null: no row, the defaults). */
export function allowedMethodsOf(row: { allowed_methods: string | null; require_phishing_resistant: number | null } | null): string[] {
  if (!row || row.allowed_methods === null) return [...POLICY_METHODS];
  if (row.require_phishing_resistant === 1) return [...PHISHING_RESISTANT_METHODS];
  return row.allowed_methods.split(',').filter((kind) => kind !== '');
}

export async function readMethodPolicy(db: Database, accountId: string): Promise<MethodPolicy> {
  const row = await db.selectFrom('account_policies').select(['allowed_methods', 'require_phishing_resistant']).where('account_id', '=', accountId).executeTakeFirst();
  return methodPolicyOf(row ?? null);
}

/** The policy a policy row states (null: no row, the defaults); for reads that join the row with more. */
export function methodPolicyOf(row: { allowed_methods: string; require_phishing_resistant: number } | null): MethodPolicy {
  if (!row) return { ...DEFAULT_METHOD_POLICY, allowedMethods: [...DEFAULT_METHOD_POLICY.allowedMethods] };
  return { allowedMethods: POLICY_METHODS.filter((kind) => row.allowed_methods.split(',').includes(kind)), requirePhishingResistant: row.require_phishing_resistant === 1 };
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

export type PolicyChangeOutcome = { ok: true; policy: MethodPolicy; affectedUsers: number; saved: boolean } | { ok: false; reason: 'admin_2fa_required' | 'no_method_allowed' };

export interface PolicyActor {
  userId: string;
  accountId: string;
  /** The admin's own confirmed methods. */
  methods: readonly string[];
}

/**
 * Applies a change (any subset of the fields). `dryRun` answers how many users it would affect
 * without saving, for the page and the API to say so before it is saved. Requiring phishing
 * resistance needs the admin to have a security key: an admin who could not log in under the
 * policy would lock the account out of its own settings.
 */
export async function changeMethodPolicy(
  deps: Pick<Deps, 'db' | 'clock'>,
  actor: PolicyActor,
  change: { allowedMethods?: readonly string[]; requirePhishingResistant?: boolean; dryRun?: boolean },
  origin: RequestOrigin,
): Promise<PolicyChangeOutcome> {
  const current = await readMethodPolicy(deps.db, actor.accountId);
  const next: MethodPolicy = {
    allowedMethods: change.allowedMethods ? POLICY_METHODS.filter((kind) => change.allowedMethods!.includes(kind)) : current.allowedMethods,
    requirePhishingResistant: change.requirePhishingResistant ?? current.requirePhishingResistant,
  };
  if (next.allowedMethods.length === 0) return { ok: false, reason: 'no_method_allowed' };
  if (next.requirePhishingResistant && !actor.methods.some((kind) => PHISHING_RESISTANT_METHODS.includes(kind))) return { ok: false, reason: 'admin_2fa_required' };
  const affectedUsers = await countAffectedUsers(deps.db, actor.accountId, next);
  if (change.dryRun) return { ok: true, policy: next, affectedUsers, saved: false };
  await deps.db.transaction().execute(async (trx) => {
    const values = { allowed_methods: next.allowedMethods.join(','), require_phishing_resistant: next.requirePhishingResistant ? 1 : 0, updated_at: deps.clock.now() };
    await trx
      .insertInto('account_policies')
      .values({ account_id: actor.accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
      .execute();
    await recordSecurityEvent(trx, deps.clock, {
      type: 'policy_changed',
      accountId: actor.accountId,
      actor: { kind: 'user', userId: actor.userId },
      subjectUserId: null,
      origin,
      detail: { allowedMethods: next.allowedMethods.join(','), requirePhishingResistant: next.requirePhishingResistant, affectedUsers },
    });
  });
  return { ok: true, policy: next, affectedUsers, saved: true };
}
