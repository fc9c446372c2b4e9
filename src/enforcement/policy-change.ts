/**
 * One change of the account's policy (PRODUCT.md §3 PATCH /account/policy, and the pages that
 * save parts of it): the allowed methods (§2.9), staged enforcement (§2.10) and the
 * trusted-browser days (§2.11). Every field is checked before anything is written, and what is
 * written goes in one transaction with its one security-log entry: a refused field in one group
 * leaves the others as they were, and a failure half way leaves nothing half saved.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import type { EnforceFor } from '../storage/schema.ts';
import { type AccountPolicy, type AccountPolicyFields, MAX_TRUSTED_BROWSER_DAYS, POLICY_METHODS, readAccountPolicy, writeAccountPolicy } from './account-policy.ts';
import { countAffectedUsers, PHISHING_RESISTANT_METHODS } from './method-policy.ts';
import { checkStagedChange, type EnforceFromRefusal, formatDay, rearmStagedNotices } from './staged-enforcement.ts';

/** Any subset of the fields; `enforceFrom` as the admin typed it (`YYYY-MM-DD`, null: at once). */
export interface AccountPolicyChange {
  allowedMethods?: readonly string[];
  requirePhishingResistant?: boolean;
  enforceFrom?: string | null;
  enforceFor?: EnforceFor;
  /** 0–90, checked by the caller's input schema (out of range here is a programmer error). */
  trustedBrowserDays?: number;
  /** Answer what the change would do (the users it sends to setup) without saving it. */
  dryRun?: boolean;
}

export interface PolicyChangeActor {
  userId: string;
  accountId: string;
  /** The admin's own confirmed methods (all of them, whatever the policy allows). */
  methods: readonly string[];
}

export type PolicyChangeRefusal = 'admin_2fa_required' | 'no_method_allowed' | EnforceFromRefusal;

export type PolicyChangeOutcome =
  | {
      ok: true;
      /** The policy as saved (or, on a dry run, as it would be). */
      policy: AccountPolicy;
      /** Users who have 2FA but no method the policy allows: sent to setup. */
      affectedUsers: number;
      /** Whether anything was written (not on a dry run, nor for a change to the values already saved). */
      saved: boolean;
      /** "Enforce from" or "Apply to" moved: the notices were re-armed and the caller starts sending them. */
      stagedChanged: boolean;
    }
  | { ok: false; reason: PolicyChangeRefusal };

/**
 * Requiring phishing resistance needs the admin to have a security key: an admin who could not
 * log in under the policy would lock the account out of its own settings.
 */
function checkMethods(next: AccountPolicy, actor: PolicyChangeActor): 'admin_2fa_required' | 'no_method_allowed' | null {
  if (next.allowedMethods.length === 0) return 'no_method_allowed';
  if (next.requirePhishingResistant && !actor.methods.some((kind) => PHISHING_RESISTANT_METHODS.includes(kind))) return 'admin_2fa_required';
  return null;
}

/** What the security log records of a change: the fields written, with the users it sends to setup. */
function describeChange(fields: Partial<AccountPolicyFields>, affectedUsers: number): Record<string, string | number | boolean | null> {
  return {
    ...(fields.allowedMethods !== undefined ? { allowedMethods: fields.allowedMethods.join(','), requirePhishingResistant: fields.requirePhishingResistant === true, affectedUsers } : {}),
    ...(fields.enforceFor !== undefined ? { enforceFrom: fields.enforceFrom == null ? null : formatDay(fields.enforceFrom), enforceFor: fields.enforceFor } : {}),
    ...(fields.trustedBrowserDays !== undefined ? { trustedBrowserDays: fields.trustedBrowserDays } : {}),
  };
}

/**
 * Applies a change. The methods are checked only when the change names them; a staged change to
 * the values already saved writes and logs nothing (nobody is e-mailed again); the days are
 * written whenever given.
 */
export async function changeAccountPolicy(deps: Pick<Deps, 'db' | 'clock'>, actor: PolicyChangeActor, change: AccountPolicyChange, origin: RequestOrigin): Promise<PolicyChangeOutcome> {
  const days = change.trustedBrowserDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 0 || days > MAX_TRUSTED_BROWSER_DAYS)) throw new Error(`trusted-browser days out of range: ${days}`);
  const now = deps.clock.now();
  const staged = checkStagedChange(change, now);
  if (!staged.ok) return staged;
  const current = await readAccountPolicy(deps.db, actor.accountId);
  const changesMethods = change.allowedMethods !== undefined || change.requirePhishingResistant !== undefined;
  const next: AccountPolicy = {
    ...current,
    allowedMethods: change.allowedMethods ? POLICY_METHODS.filter((kind) => change.allowedMethods!.includes(kind)) : current.allowedMethods,
    requirePhishingResistant: change.requirePhishingResistant ?? current.requirePhishingResistant,
    enforceFrom: staged.enforceFromMs === undefined ? current.enforceFrom : staged.enforceFromMs,
    enforceFor: change.enforceFor ?? current.enforceFor,
    trustedBrowserDays: days ?? current.trustedBrowserDays,
  };
  const refusal = changesMethods ? checkMethods(next, actor) : null;
  if (refusal) return { ok: false, reason: refusal };
  const affectedUsers = await countAffectedUsers(deps.db, actor.accountId, next);
  const stagedChanged = next.enforceFrom !== current.enforceFrom || next.enforceFor !== current.enforceFor;
  const fields: Partial<AccountPolicyFields> = {
    ...(changesMethods ? { allowedMethods: next.allowedMethods, requirePhishingResistant: next.requirePhishingResistant } : {}),
    ...(stagedChanged ? { enforceFrom: next.enforceFrom, enforceFor: next.enforceFor } : {}),
    ...(days !== undefined ? { trustedBrowserDays: days } : {}),
  };
  if (change.dryRun || Object.keys(fields).length === 0) return { ok: true, policy: next, affectedUsers, saved: false, stagedChanged: false };
  await deps.db.transaction().execute(async (trx) => {
    await writeAccountPolicy(trx, actor.accountId, fields, now);
    if (stagedChanged) await rearmStagedNotices(trx, actor.accountId, now);
    await recordSecurityEvent(trx, deps.clock, { type: 'policy_changed', accountId: actor.accountId, actor: { kind: 'user', userId: actor.userId }, subjectUserId: null, origin, detail: describeChange(fields, affectedUsers) });
  });
  return { ok: true, policy: next, affectedUsers, saved: true, stagedChanged };
}
