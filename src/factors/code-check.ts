/**
 * Checking one second-factor code for a user, the same way wherever a code is accepted (login
 * by app, text message or recovery code, re-authentication, disabling): charge the per-user
 * budget first, then check the shape, then let the factor kind check and consume the code, then
 * record the outcome. A malformed code is still a guess (SECURITY.md rule 33), and wrong,
 * replayed and malformed codes all count alike.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { chargeSecondFactorAttempt, recordWrongSecondFactorCode, resetSecondFactorBudget } from './code-budget.ts';
import type { CodeOwner, CodeStage, FactorDeps } from './factor.ts';
import { findSecondFactor } from './registry.ts';

export type CodeCheckOutcome =
  | { ok: true }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  /** `wrongCodes`: how many of the user's budget (PRODUCT.md §4) are spent, this one included. */
  | { ok: false; reason: 'malformed' | 'invalid_code'; wrongCodes: number };

export interface CodeCheckInput {
  /** A kind from the registry (`SECOND_FACTOR_KINDS`); the caller has checked it is one. */
  method: string;
  code: unknown;
  stage: CodeStage;
  /** At login: the pending login the code is for. */
  loginId?: string;
}

/** The canonical code of `method`, or null when the input cannot be one. */
export function parseCode(method: string, raw: unknown): string | null {
  const factor = findSecondFactor(method);
  if (!factor) throw new Error(`unknown second factor kind ${method}`);
  return factor.parseCode(raw);
}

export async function checkSecondFactorCode(deps: FactorDeps, owner: CodeOwner, input: CodeCheckInput, origin: RequestOrigin): Promise<CodeCheckOutcome> {
  const factor = findSecondFactor(input.method);
  if (!factor) throw new Error(`unknown second factor kind ${input.method}`);
  const charge = await chargeSecondFactorAttempt(deps, owner.userId);
  if (!charge.ok) {
    deps.metrics.secondFactor(input.method, 'locked');
    return { ok: false, reason: 'locked', retryAfterSeconds: charge.retryAfterSeconds };
  }
  const code = factor.parseCode(input.code);
  const right = code !== null && (await factor.verify(deps, owner, code, { stage: input.stage, loginId: input.loginId ?? null, origin }));
  if (!right) {
    const { lockedNow } = await recordWrongSecondFactorCode(deps, owner, charge.count, { method: input.method, stage: input.stage }, origin);
    deps.metrics.secondFactor(input.method, code === null ? 'malformed' : 'wrong');
    if (lockedNow) deps.metrics.lockout('second_factor');
    return { ok: false, reason: code === null ? 'malformed' : 'invalid_code', wrongCodes: charge.count };
  }
  await resetSecondFactorBudget(deps, owner.userId);
  deps.metrics.secondFactor(input.method, 'success');
  return { ok: true };
}
