/**
 * Everything of the account's policy a password login decides with, in ONE read: the allowed
 * methods (PRODUCT.md §2.9), the staged enforcement (§2.10) and the trusted-browser days (§2.11).
 * The password step used to read account_policies three times (review item, issue #18): one
 * statement also sees one state of the policy, never half of a change made between reads.
 */
import type { StagedEnforcementRow } from '../enforcement/staged-enforcement.ts';
import { methodPolicyOf, type MethodPolicy } from '../enforcement/method-policy.ts';
import type { Database } from '../storage/schema.ts';
import { DEFAULT_TRUSTED_BROWSER_DAYS } from '../trusted-browsers/trusted-browsers.ts';

export interface LoginPolicy {
  methodPolicy: MethodPolicy;
  enforcement: StagedEnforcementRow;
  trustedBrowserDays: number;
}

export async function readLoginPolicy(db: Database, accountId: string): Promise<LoginPolicy> {
  const row = await db
    .selectFrom('accounts')
    .leftJoin('account_policies', 'account_policies.account_id', 'accounts.id')
    .select(['accounts.enforce_2fa', 'account_policies.enforce_from', 'account_policies.enforce_for', 'account_policies.allowed_methods', 'account_policies.require_phishing_resistant', 'account_policies.trusted_browser_days'])
    .where('accounts.id', '=', accountId)
    .executeTakeFirstOrThrow();
  // No policy row: the left join answers nulls, which are the defaults.
  const policyRow = row.allowed_methods === null ? null : { allowed_methods: row.allowed_methods, require_phishing_resistant: row.require_phishing_resistant ?? 0 };
  return {
    methodPolicy: methodPolicyOf(policyRow),
    enforcement: { enforce_2fa: row.enforce_2fa, enforce_from: row.enforce_from, enforce_for: row.enforce_for },
    trustedBrowserDays: row.trusted_browser_days ?? DEFAULT_TRUSTED_BROWSER_DAYS,
  };
}
