/**
 * "Your password or a current code": the proof asked before re-authentication and before
 * turning 2FA off (SECURITY.md rules 20 and 28). Wrong passwords spend the failed-password
 * budget, wrong codes the second-factor budget — the same budgets as the login.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { checkSecondFactorCode } from '../factors/code-check.ts';
import type { Deps } from '../deps.ts';
import { checkUserPassword } from '../passwords/password-check.ts';
import { IDENTITY_PROOF_KIND } from '../factors/registry.ts';
import { WEBAUTHN_KIND as SECURITY_KEY_KIND } from '../factors/webauthn/keys.ts';

export interface IdentityProof {
  password?: string;
  /** Anything the client sent as a code: a malformed one is still charged as a guess (rule 33). */
  code?: unknown;
  /** A security key's assertion (answering POST /me/reauthenticate/webauthn/options); charged like a code (rule 36). */
  response?: unknown;
}

export type IdentityProofOutcome =
  | { ok: true }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  | { ok: false; reason: 'neither_or_both' | 'malformed' | 'malformed_response' | 'invalid_code' | 'invalid_credentials' | 'busy' };

export interface ProvingUser {
  userId: string;
  accountId: string;
  email: string;
  name: string;
}

export async function proveIdentity(deps: Deps, who: ProvingUser, proof: IdentityProof, origin: RequestOrigin, stage: 'reauthenticate' | 'disable_2fa'): Promise<IdentityProofOutcome> {
  const given = [proof.password, proof.code, proof.response].filter((item) => item !== undefined).length;
  if (given !== 1) return { ok: false, reason: 'neither_or_both' };
  if (proof.response !== undefined) {
    const checked = await checkSecondFactorCode(deps, who, { method: SECURITY_KEY_KIND, code: proof.response, stage }, origin);
    return !checked.ok && checked.reason === 'malformed' ? { ok: false, reason: 'malformed_response' } : checked;
  }
  if (proof.code !== undefined) {
    const checked = await checkSecondFactorCode(deps, who, { method: IDENTITY_PROOF_KIND, code: proof.code, stage }, origin);
    return checked;
  }
  return checkUserPassword(deps, who, proof.password!, origin, stage);
}
