/**
 * The authenticator app as a second factor (PRODUCT.md §2.2, §2.3 Mobile App): where a TOTP code
 * is checked at login, at re-authentication and before turning 2FA off.
 */
import { openSecret } from '../../crypto/encryption.ts';
import type { Database } from '../../storage/schema.ts';
import { parseSixDigitCode, type FactorDeps, type SecondFactor } from '../factor.ts';
import { totpFactorAssociatedData } from './pending-enrollment.ts';
import { findTOTPStep } from './totp.ts';

/**
 * Checks a code against the user's confirmed app factor and burns its time step. The step is
 * recorded by one conditional update — accepted only if it is later than every step accepted
 * before — so of concurrent requests with one code exactly one succeeds, on either database and
 * across instances (rules 5 and 6). Never read-then-write.
 */
export async function verifyTOTPCode(deps: Pick<FactorDeps, 'db' | 'clock' | 'keys'>, userId: string, code: string): Promise<boolean> {
  const factor = await deps.db.selectFrom('factors').select(['id', 'secret_encrypted', 'last_used_step']).where('user_id', '=', userId).where('kind', '=', 'totp').executeTakeFirst();
  if (!factor) return false;
  const secret = openSecret(deps.keys, factor.secret_encrypted, totpFactorAssociatedData(userId, factor.id));
  const step = findTOTPStep(secret, code, deps.clock.now());
  if (step === null) return false;
  const burned = await deps.db
    .updateTable('factors')
    .set({ last_used_step: step })
    .where('id', '=', factor.id)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .returning('id')
    .executeTakeFirst();
  return burned !== undefined;
}

async function hasAuthenticatorApp(db: Database, userId: string): Promise<boolean> {
  return (await db.selectFrom('factors').select('id').where('user_id', '=', userId).where('kind', '=', 'totp').executeTakeFirst()) !== undefined;
}

export const authenticatorApp: SecondFactor = {
  kind: 'totp',
  role: 'method',
  sentByServer: false,
  sentenceName: 'The authenticator app',
  codeShape: 'six_digits',
  codePrompt: 'Enter the six-digit code from your authenticator app.',
  verification: {
    title: 'Verification Code',
    label: 'Verification code',
    hint: 'Six digits. A new code appears every 30 seconds.',
    intro: () => 'Open your authenticator app and enter the code it shows for Twofold.',
    switchLabel: 'Use the authenticator app',
  },
  parseCode: parseSixDigitCode,
  verify: (deps, owner, code) => verifyTOTPCode(deps, owner.userId, code),
  describe: async (deps, userId) => ((await hasAuthenticatorApp(deps.db, userId)) ? { kind: 'totp', label: 'Authenticator app', icon: 'authenticator-app', detail: null } : null),
  remove: async (trx, userId) => {
    await trx.deleteFrom('factors').where('user_id', '=', userId).where('kind', '=', 'totp').execute();
    await trx.deleteFrom('totp_enrollments').where('user_id', '=', userId).execute();
  },
};
