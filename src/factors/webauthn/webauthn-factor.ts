/**
 * Security keys and passkeys as a second factor (PRODUCT.md §2.9): what the login,
 * re-authentication and turning 2FA off use through the registry. Its "code" is the browser's
 * assertion; `parseCode` checks its shape (a malformed one is still a charged guess, rule 33)
 * and answers it as canonical JSON, which `verify` checks against the open challenge of the
 * user for that stage (rule 35). Wrong assertions spend the shared code budget (rule 36), since
 * `code-check.ts` charges every kind alike.
 */
import type { FactorDeps, SecondFactor } from '../factor.ts';
import { verifyAssertion, type AssertionBinding } from './assertion.ts';
import { countSecurityKeys, removeEverySecurityKey, WEBAUTHN_KIND } from './keys.ts';
import { relyingPartyOf } from './relying-party.ts';
import { parseAuthenticationResponse } from './response-shape.ts';

export const securityKey: SecondFactor = {
  kind: WEBAUTHN_KIND,
  role: 'method',
  sentByServer: false,
  sentenceName: 'Security keys',
  codeShape: 'webauthn_response',
  codePrompt: 'Use your security key.',
  verification: {
    title: 'Use your security key',
    label: 'Security key',
    hint: 'Insert or touch your key, or confirm the passkey on this device, when your browser asks.',
    intro: () => 'Use your security key or passkey to finish logging in.',
    switchLabel: 'Use your security key',
  },
  parseCode: (raw) => {
    const response = parseAuthenticationResponse(raw);
    return response === null ? null : JSON.stringify(response);
  },
  verify: async (deps: FactorDeps, owner, code, context) => {
    const rp = relyingPartyOf(deps.config.publicURL);
    if (!rp.offered) return false;
    const binding: AssertionBinding =
      context.stage === 'login' ? { userId: owner.userId, purpose: 'login', subjectId: context.loginId } : { userId: owner.userId, purpose: 'reauthenticate', subjectId: null };
    return verifyAssertion(deps, rp, binding, JSON.parse(code));
  },
  describe: async (deps, userId) => {
    const keys = await countSecurityKeys(deps.db, userId);
    return keys > 0 ? { kind: WEBAUTHN_KIND, label: 'Security key', icon: 'security-key', detail: keys === 1 ? '1 key' : `${keys} keys` } : null;
  },
  remove: removeEverySecurityKey,
};
