/**
 * Everything of the account's policy a password login decides with, in ONE read: the allowed
 * methods (PRODUCT.md §2.9), the staged enforcement (§2.10) and the trusted-browser days (§2.11).
 * The password step used to read account_policies three times (review item, issue #18): one
 * statement also sees one state of the policy, never half of a change made between reads.
 */
import { readAccountPolicy } from '../enforcement/account-policy.ts';
import type { MethodPolicy } from '../enforcement/method-policy.ts';
import type { StagedEnforcementRow } from '../enforcement/staged-enforcement.ts';
import type { Database } from '../storage/schema.ts';

export interface LoginPolicy {
  methodPolicy: MethodPolicy;
  enforcement: StagedEnforcementRow;
  trustedBrowserDays: number;
}

export async function readLoginPolicy(db: Database, accountId: string): Promise<LoginPolicy> {
  const policy = await readAccountPolicy(db, accountId);
  return {
    methodPolicy: { allowedMethods: policy.allowedMethods, requirePhishingResistant: policy.requirePhishingResistant },
    enforcement: { enforce_2fa: policy.enforce2fa ? 1 : 0, enforce_from: policy.enforceFrom, enforce_for: policy.enforceFor },
    trustedBrowserDays: policy.trustedBrowserDays,
  };
}
