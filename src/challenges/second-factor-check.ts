/**
 * Checking one second-factor code for a user, the same way wherever a code is accepted (login
 * by app, text message or recovery code, re-authentication, disabling): charge the per-user budget first, then check
 * the shape, then the code, then record the outcome. A malformed code is still a guess
 * (SECURITY.md rule 33), and wrong, replayed and malformed codes all count alike.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { sendRecoveryCodeUsedNotice } from '../factors/notices.ts';
import { normalizeRecoveryCode, useRecoveryCode } from '../factors/recovery-codes/recovery-codes.ts';
import { useSMSCode, type SMSCodeSubject } from '../factors/sms/sms-codes.ts';
import { verifyTOTPCode } from '../factors/totp/authenticator-app.ts';
import { chargeSecondFactorAttempt, recordWrongSecondFactorCode, resetSecondFactorBudget, type CodeOwner } from './second-factor-budget.ts';

export type CodeMethod = 'totp' | 'sms' | 'recovery';

type CheckDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'delivery' | 'log' | 'metrics'>;

/** Surrounding ASCII spaces and tabs may be trimmed (rule 33); nothing else is forgiven. */
function trimSpaces(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * The canonical code, or null when the input cannot be one: a TOTP or SMS code is exactly six ASCII
 * digits (not other scripts' digits, signs, exponents or numbers); a recovery code is ten
 * base32 characters in any case, hyphens and spaces ignored.
 */
export function parseCode(method: CodeMethod, raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length > 64) return null;
  if (method === 'recovery') return normalizeRecoveryCode(raw);
  const code = trimSpaces(raw);
  return /^[0-9]{6}$/.test(code) ? code : null;
}

export type CodeCheckOutcome =
  | { ok: true }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  | { ok: false; reason: 'malformed' | 'invalid_code' };

export interface CodeCheckInput {
  method: CodeMethod;
  code: unknown;
  stage: 'login' | 'reauthenticate' | 'disable_2fa';
  /** For 'sms': the enrollment or login the texted code belongs to (rule 7). */
  smsSubject?: SMSCodeSubject;
}

export async function checkSecondFactorCode(deps: CheckDeps, owner: CodeOwner, input: CodeCheckInput, origin: RequestOrigin): Promise<CodeCheckOutcome> {
  const charge = await chargeSecondFactorAttempt(deps, owner.userId);
  if (!charge.ok) {
    deps.metrics.secondFactor(input.method, 'locked');
    return { ok: false, reason: 'locked', retryAfterSeconds: charge.retryAfterSeconds };
  }
  const code = parseCode(input.method, input.code);
  const right = code !== null && (await evaluateCode(deps, owner, input, code, origin));
  if (!right) {
    const { lockedNow } = await recordWrongSecondFactorCode(deps, owner, charge.count, { method: input.method, stage: input.stage }, origin);
    deps.metrics.secondFactor(input.method, code === null ? 'malformed' : 'wrong');
    if (lockedNow) deps.metrics.lockout('second_factor');
    return { ok: false, reason: code === null ? 'malformed' : 'invalid_code' };
  }
  await resetSecondFactorBudget(deps, owner.userId);
  deps.metrics.secondFactor(input.method, 'success');
  return { ok: true };
}

async function evaluateCode(deps: CheckDeps, owner: CodeOwner, input: CodeCheckInput, code: string, origin: RequestOrigin): Promise<boolean> {
  if (input.method === 'totp') return verifyTOTPCode(deps, owner.userId, code);
  if (input.method === 'sms') {
    if (!input.smsSubject || input.smsSubject.userId !== owner.userId) throw new Error('An SMS code is checked against its own enrollment or login');
    return useSMSCode(deps.db, deps.clock, deps.keys, deps.config.policy, input.smsSubject, code);
  }
  const used = await useRecoveryCode(deps.db, deps.clock, deps.keys, owner.userId, code);
  if (!used.ok) return false;
  await recordSecurityEvent(deps.db, deps.clock, {
    type: 'recovery_code_used',
    accountId: owner.accountId,
    actor: { kind: 'user', userId: owner.userId },
    subjectUserId: owner.userId,
    origin,
    detail: { remaining: used.remaining },
  });
  sendRecoveryCodeUsedNotice(deps, { email: owner.email, name: owner.name }, origin, used.remaining);
  return true;
}
