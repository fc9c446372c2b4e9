import type { Deps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { LOGIN_STATES } from '../login/flow.ts';
import { isRecentlyAuthenticated, type SessionContext } from '../sessions/sessions.ts';

/**
 * Sensitive actions (regenerating recovery codes, changing the phone, sending a disable link,
 * changing enforcement) need a login or a password re-entry within the last 15 minutes
 * (PRODUCT.md §4, SECURITY.md rule 28): a stolen, idle session cannot weaken the account.
 */
/**
 * Enrolling or replacing a factor (SECURITY.md rule 12) needs a recent login even for a user
 * with no factor yet: a stolen, idle session must not plant the thief's own factor and lock the
 * owner out. Exempt is only a login that completed its password step under enforcement (stored
 * as enrollment_required from its start): finishing setup is what it is for. A session that
 * became enrollment-only later — an old complete session, read as enrollment_required once the
 * admin turned enforcement on — is exactly the idle session this rule is about, so it re-enters
 * its password first (issue 13).
 */
export function enrollmentNeedsReauthentication(deps: Pick<Deps, 'clock' | 'config'>, session: SessionContext): boolean {
  return session.storedState !== LOGIN_STATES.enrollmentRequired && !isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs);
}

export function requireRecentAuthentication(deps: Pick<Deps, 'clock' | 'config'>, session: SessionContext): void {
  if (!isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs)) throw new HttpError('reauthentication_required');
}
