/**
 * The account's policy row (account_policies): the allowed methods (PRODUCT.md §2.9), staged
 * enforcement (§2.10) and the trusted-browser days (§2.11). An account without a row has the
 * defaults below; this module is the one place that knows them, in both directions — the reader
 * fills them in for a missing row or a column never set, the writer puts them in a first row.
 */
import type { Database, EnforceFor } from '../storage/schema.ts';

/** The methods a policy can name, in the registry's order (the registry's methods; kept here so storage-level reads need no registry). */
export const POLICY_METHODS = ['totp', 'sms', 'webauthn'] as const;
export const DEFAULT_TRUSTED_BROWSER_DAYS = 30;
export const MAX_TRUSTED_BROWSER_DAYS = 90;

/** The fields an administrator sets (PATCH /account/policy). */
export interface AccountPolicyFields {
  /** As saved, in the registry's order (see `effectiveAllowed` for what a login may use). */
  allowedMethods: string[];
  requirePhishingResistant: boolean;
  /** 00:00 UTC of "Enforce from", in ms; null: at once. */
  enforceFrom: number | null;
  enforceFor: EnforceFor;
  /** 0 = off. */
  trustedBrowserDays: number;
}

export interface AccountPolicy extends AccountPolicyFields {
  /**
   * The account's enforcement switch (accounts.enforce_2fa). It lives on the account row, not on
   * the policy row, but every question about enforcement needs it with the staged fields, so
   * the one read answers it too.
   */
  enforce2fa: boolean;
}

function defaultPolicyFields(): AccountPolicyFields {
  return { allowedMethods: [...POLICY_METHODS], requirePhishingResistant: false, enforceFrom: null, enforceFor: 'everyone', trustedBrowserDays: DEFAULT_TRUSTED_BROWSER_DAYS };
}

/**
 * Every field of the account's policy in one query (the account row joined to its policy row,
 * if any). An unknown account reads as the defaults with enforcement off.
 */
export async function readAccountPolicy(db: Database, accountId: string): Promise<AccountPolicy> {
  const row = await db
    .selectFrom('accounts')
    .leftJoin('account_policies', 'account_policies.account_id', 'accounts.id')
    .select([
      'accounts.enforce_2fa',
      'account_policies.account_id as policy_account',
      'account_policies.allowed_methods',
      'account_policies.require_phishing_resistant',
      'account_policies.enforce_from',
      'account_policies.enforce_for',
      'account_policies.trusted_browser_days',
    ])
    .where('accounts.id', '=', accountId)
    .executeTakeFirst();
  const defaults = defaultPolicyFields();
  if (!row) return { ...defaults, enforce2fa: false };
  const enforce2fa = row.enforce_2fa === 1;
  if (row.policy_account === null) return { ...defaults, enforce2fa };
  const saved = (row.allowed_methods ?? '').split(',');
  return {
    enforce2fa,
    allowedMethods: POLICY_METHODS.filter((kind) => saved.includes(kind)),
    requirePhishingResistant: row.require_phishing_resistant === 1,
    enforceFrom: row.enforce_from === null ? null : Number(row.enforce_from),
    enforceFor: row.enforce_for === 'admins' ? 'admins' : 'everyone',
    trustedBrowserDays: row.trusted_browser_days ?? DEFAULT_TRUSTED_BROWSER_DAYS,
  };
}

/**
 * Saves the given fields of the account's policy (inside the caller's transaction, with its
 * security-log entry); fields not given keep their value. A first row gets the defaults for the
 * rest — the trusted-browser days stay unset (null), so a later change of the default reaches it.
 */
export async function writeAccountPolicy(trx: Database, accountId: string, fields: Partial<AccountPolicyFields>, now: number): Promise<void> {
  const set = {
    ...(fields.allowedMethods !== undefined ? { allowed_methods: fields.allowedMethods.join(',') } : {}),
    ...(fields.requirePhishingResistant !== undefined ? { require_phishing_resistant: fields.requirePhishingResistant ? 1 : 0 } : {}),
    ...(fields.enforceFrom !== undefined ? { enforce_from: fields.enforceFrom } : {}),
    ...(fields.enforceFor !== undefined ? { enforce_for: fields.enforceFor } : {}),
    ...(fields.trustedBrowserDays !== undefined ? { trusted_browser_days: fields.trustedBrowserDays } : {}),
    updated_at: now,
  };
  const defaults = defaultPolicyFields();
  await trx
    .insertInto('account_policies')
    .values({ account_id: accountId, allowed_methods: defaults.allowedMethods.join(','), require_phishing_resistant: 0, enforce_from: null, enforce_for: defaults.enforceFor, trusted_browser_days: null, ...set })
    .onConflict((oc) => oc.column('account_id').doUpdateSet(set))
    .execute();
}
