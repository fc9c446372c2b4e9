/**
 * Staged enforcement (PRODUCT.md §2.10): the account's enforcement switch (accounts.enforce_2fa)
 * is qualified by "Enforce from" (a UTC date; null = at once) and "Apply to" (everyone or
 * administrators only), both on the account's policy row. Whether enforcement applies to a user
 * at a moment is a pure function of those values, so the session read (one query that already
 * joins the policy row) and the password step decide it the same way, with nothing written per
 * user: when the date comes, sessions already held are sent to setup on their next request.
 */
import { sql } from 'kysely';
import type { Database, EnforceFor, Role } from '../storage/schema.ts';

export type { EnforceFor };
import { type AccountPolicy, readAccountPolicy } from './account-policy.ts';
import { effectiveAllowed } from './method-policy.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** "More than a year ahead" is refused: a date that far is more likely a typo than a plan. */
export const MAX_DAYS_AHEAD = 365;

/** 'off': not enforced for this user; 'grace': enforced from a date still ahead; 'enforced': now. */
export type EnforcementPhase = 'off' | 'grace' | 'enforced';

export interface StagedEnforcementRow {
  enforce_2fa: number;
  enforce_from: number | string | null;
  enforce_for: string | null;
}

export function enforcementPhase(row: StagedEnforcementRow, role: Role, now: number): EnforcementPhase {
  if (row.enforce_2fa !== 1) return 'off';
  if (row.enforce_for === 'admins' && role !== 'admin') return 'off';
  if (row.enforce_from !== null && now < Number(row.enforce_from)) return 'grace';
  return 'enforced';
}

/** 00:00 UTC of a day, as `YYYY-MM-DD`. */
export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export type EnforceFromRefusal = 'enforce_from_malformed' | 'enforce_from_past' | 'enforce_from_too_far';
export type EnforceFromParse = { ok: true; ms: number | null } | { ok: false; reason: EnforceFromRefusal };

/**
 * A date an admin may choose: a real calendar day written `YYYY-MM-DD`, from tomorrow (today has
 * already begun at 00:00 UTC: null means "at once") to a year ahead.
 */
export function parseEnforceFrom(text: string | null, now: number): EnforceFromParse {
  if (text === null) return { ok: true, ms: null };
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return { ok: false, reason: 'enforce_from_malformed' };
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Date.UTC rolls 2027-02-30 over to March: only a day that formats back to itself is real.
  if (Number.isNaN(ms) || formatDay(ms) !== text) return { ok: false, reason: 'enforce_from_malformed' };
  const today = startOfDay(now);
  if (ms <= today) return { ok: false, reason: 'enforce_from_past' };
  if (ms > today + MAX_DAYS_AHEAD * DAY_MS) return { ok: false, reason: 'enforce_from_too_far' };
  return { ok: true, ms };
}

/** Who the account's enforcement reaches, and which methods count as having 2FA. */
export interface AffectedScope {
  accountId: string;
  enforceFor: EnforceFor;
  allowedMethods: readonly string[];
}

export function affectedScopeOf(accountId: string, policy: AccountPolicy): AffectedScope {
  return { accountId, enforceFor: policy.enforceFor, allowedMethods: effectiveAllowed(policy) };
}

export async function readAffectedScope(db: Database, accountId: string): Promise<AffectedScope> {
  return affectedScopeOf(accountId, await readAccountPolicy(db, accountId));
}

/**
 * Active users the enforcement applies to who have no method the policy allows: the users the
 * page lists before saving, the CSV, the users filter and the staged notices. An indexed
 * anti-join on factors (factors_user_kind), so it stays cheap for large accounts.
 */
export function selectUsersLackingTwoFactor(db: Database, scope: AffectedScope) {
  let query = db
    .selectFrom('users')
    .where('users.account_id', '=', scope.accountId)
    .where('users.active', '=', 1)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('factors').select(sql.lit(1).as('one')).whereRef('factors.user_id', '=', 'users.id').where('factors.kind', 'in', [...scope.allowedMethods]))));
  if (scope.enforceFor === 'admins') query = query.where('users.role', '=', 'admin');
  return query;
}

export async function countUsersLackingTwoFactor(db: Database, scope: AffectedScope): Promise<number> {
  const row = await selectUsersLackingTwoFactor(db, scope)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export type StagedChange = { enforceFrom?: string | null; enforceFor?: EnforceFor };

/** Checks a change without saving it: the route refuses bad input before anything is written. */
export function checkStagedChange(change: StagedChange, now: number): { ok: true; enforceFromMs: number | null | undefined } | { ok: false; reason: EnforceFromRefusal } {
  if (change.enforceFrom === undefined) return { ok: true, enforceFromMs: undefined };
  const parsed = parseEnforceFrom(change.enforceFrom, now);
  return parsed.ok ? { ok: true, enforceFromMs: parsed.ms } : parsed;
}

/** The notice stages: 1 when saved, 2 seven days before, 3 one day before the date. */
export const NOTICE_STAGES = { saved: 1, weekBefore: 2, dayBefore: 3 } as const;

/** The latest stage whose time has come for a date (the "saved" notice is always due). */
export function dueNoticeStage(now: number, from: number): number {
  if (now >= from - DAY_MS) return NOTICE_STAGES.dayBefore;
  if (now >= from - 7 * DAY_MS) return NOTICE_STAGES.weekBefore;
  return NOTICE_STAGES.saved;
}

/**
 * Re-arms the notices after the date, the scope or the switch changed (inside that change's
 * transaction). Decision: a change means the affected users must hear the new terms at once, so
 * the notice is sent again now — as the stage already due for the new date, so a date 3 days
 * ahead gets this notice and then only the 1-day reminder, never a late "7 days" one. Turned off,
 * or enforced at once, nothing is pending (a sender in the middle of a stage stops at its next
 * batch, because its conditional write no longer matches).
 */
/** Answers whether notices are now pending (the enforcement is staged for a date ahead). */
export async function rearmStagedNotices(trx: Database, accountId: string, now: number): Promise<boolean> {
  const row = await trx
    .selectFrom('accounts')
    .leftJoin('account_policies', 'account_policies.account_id', 'accounts.id')
    .select(['accounts.enforce_2fa', 'account_policies.enforce_from', 'account_policies.account_id as policy_account'])
    .where('accounts.id', '=', accountId)
    .executeTakeFirst();
  if (!row || row.policy_account === null) return false;
  const staged = row.enforce_2fa === 1 && row.enforce_from !== null && Number(row.enforce_from) > now;
  await trx
    .updateTable('account_policies')
    .set(staged ? { notice_stage: dueNoticeStage(now, Number(row.enforce_from)), notice_cursor: '' } : { notice_stage: 0, notice_cursor: null })
    .where('account_id', '=', accountId)
    .execute();
  return staged;
}
