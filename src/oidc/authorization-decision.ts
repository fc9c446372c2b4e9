/**
 * Whether an authorization request may be answered with a code for this session (SECURITY.md
 * rule 39). The central guard (`http/plugins/authentication.ts`) has already let only a complete
 * session through to the interaction — a password-only or enrollment-only one never gets here.
 * What remains is what the application asked for: a level (`acr_values`, an `acr` claim, or the
 * client's `--require-2fa`), a recent login (`max_age`) or a fresh one (`prompt=login`).
 */
import { assuranceOf, isAssuranceLevel, reachesLevel, ASSURANCE_LEVELS, type Assurance, type AssuranceLevel } from '../login/assurance.ts';

export interface AuthorizingSession {
  authMethods: readonly string[];
  /** Milliseconds: the session's last password or code entry. */
  authenticatedAt: number;
  hasSecondFactor: boolean;
  /** The user's confirmed second-factor methods that the account allows. */
  methods: readonly string[];
}

/** The level only a phishing-resistant method reaches, and the method kinds that reach it. */
const PHISHING_RESISTANT_LEVEL: AssuranceLevel = 'phr';
const PHISHING_RESISTANT_METHODS: readonly string[] = ['webauthn'];

export interface AuthorizationRequest {
  /** The levels the application named (acr_values, the acr claim's value or values); empty for none. */
  requestedLevels: readonly string[];
  clientRequires2FA: boolean;
  maxAgeSeconds: number | null;
  promptLogin: boolean;
  /** Milliseconds: when the provider began this authorization (a fresh login must come after). */
  startedAt: number;
}

export type AuthorizationDecision =
  | { kind: 'grant'; assurance: Assurance }
  /** Log in again: the login is too old, or a second factor the user has must be entered. */
  | { kind: 'login_again'; reason: 'prompt_login' | 'max_age' | 'step_up' }
  /** The level needs a second factor the user has not set up yet. */
  | { kind: 'setup' }
  | { kind: 'unmet'; description: string };

/** The weakest level the request accepts; null when it names levels but none Twofold knows. */
function requiredLevel(request: AuthorizationRequest): AssuranceLevel | null {
  const known = request.requestedLevels.filter(isAssuranceLevel);
  if (request.requestedLevels.length > 0 && known.length === 0) return null;
  let level: AssuranceLevel = known.length > 0 ? known.reduce((lowest, value) => (ASSURANCE_LEVELS.indexOf(value) < ASSURANCE_LEVELS.indexOf(lowest) ? value : lowest)) : 'pwd';
  if (request.clientRequires2FA && !reachesLevel(level, 'mfa')) level = 'mfa';
  return level;
}

export function decideAuthorization(session: AuthorizingSession, request: AuthorizationRequest, now: number): AuthorizationDecision {
  const level = requiredLevel(request);
  if (level === null) return { kind: 'unmet', description: `none of the requested authentication levels can be met (Twofold offers ${ASSURANCE_LEVELS.join(', ')})` };
  if (request.promptLogin && session.authenticatedAt < request.startedAt) return { kind: 'login_again', reason: 'prompt_login' };
  if (request.maxAgeSeconds !== null && now - session.authenticatedAt > request.maxAgeSeconds * 1000) return { kind: 'login_again', reason: 'max_age' };
  const assurance = assuranceOf(session.authMethods);
  if (reachesLevel(assurance.acr, level)) return { kind: 'grant', assurance };
  // Entering an app or texted code again can never reach `phr`: without a security key the
  // request cannot be met (asking again would loop), never answered with a weaker token.
  if (level === PHISHING_RESISTANT_LEVEL && !session.methods.some((method) => PHISHING_RESISTANT_METHODS.includes(method))) {
    return { kind: 'unmet', description: 'this level needs a security key, and the user has none' };
  }
  return session.hasSecondFactor ? { kind: 'login_again', reason: 'step_up' } : { kind: 'setup' };
}
