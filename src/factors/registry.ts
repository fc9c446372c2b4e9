/**
 * The kinds of second factor Twofold offers: the one list (STYLE.md convention 11). Adding a kind
 * is one folder implementing `SecondFactor` and one line here; the login, the session read, the
 * pages and turning 2FA off all go through this list.
 *
 * Methods are the factors a user turns on (a confirmed row in `factors`; a pending enrollment is
 * not a method); recovery codes are the fallback that comes with them.
 */
import { factorKindsOf } from '../storage/confirmed-factor-kinds.ts';
import type { Database } from '../storage/schema.ts';
import type { SecondFactor } from './factor.ts';
import { recoveryCodes } from './recovery-codes/recovery-code-factor.ts';
import { textMessage } from './sms/sms-factor.ts';
import { authenticatorApp } from './totp/totp-factor.ts';
import { securityKey } from './webauthn/webauthn-factor.ts';

/** In the order pages and answers list them (the app first), so they never depend on enrollment order. */
export const SECOND_FACTORS: readonly SecondFactor[] = [authenticatorApp, textMessage, securityKey, recoveryCodes];

/** The kinds a user may log in with, methods and fallback. */
export const SECOND_FACTOR_KINDS: readonly string[] = SECOND_FACTORS.map((factor) => factor.kind);

/** The kinds that are methods (what `twoFactor.methods` lists), in order. */
export const METHOD_KINDS: readonly string[] = SECOND_FACTORS.filter((factor) => factor.role === 'method').map((factor) => factor.kind);

/**
 * The kind whose current code proves a signed-in user is present ("your password or a current
 * code", SECURITY.md rules 20 and 28): one the user holds without the server sending anything.
 */
export const IDENTITY_PROOF_KIND: string = authenticatorApp.kind;

export function findSecondFactor(kind: string): SecondFactor | null {
  return SECOND_FACTORS.find((factor) => factor.kind === kind) ?? null;
}

/** The given kinds that are methods, in the registry's order, each once. */
export function orderedMethods(kinds: Iterable<string>): string[] {
  const present = new Set(kinds);
  return METHOD_KINDS.filter((kind) => present.has(kind));
}

/** The methods of a user read with their `factor_kinds` (a page of the Users list), in the registry's order. */
export function confirmedMethodsOf(user: { factor_kinds: string | null }): string[] {
  return orderedMethods(factorKindsOf(user.factor_kinds));
}

export async function listConfirmedMethods(db: Database, user: { id: string }): Promise<string[]> {
  const rows = await db.selectFrom('factors').select('kind').where('user_id', '=', user.id).execute();
  return orderedMethods(rows.map((row) => row.kind));
}

