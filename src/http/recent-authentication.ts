import type { Deps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { isRecentlyAuthenticated, type SessionContext } from '../sessions/sessions.ts';

/**
 * Sensitive actions (regenerating recovery codes, changing the phone, sending a disable link,
 * changing enforcement) need a login or a password re-entry within the last 15 minutes
 * (PRODUCT.md §4, SECURITY.md rule 28): a stolen, idle session cannot weaken the account.
 */
/**
 * Enrolling or replacing a factor (SECURITY.md rule 12) needs a recent login even for a user
 * with no factor yet: a stolen, idle session must not plant the thief's own factor and lock the
 * owner out. The enrollment-only state that enforcement imposes is exempt — it reaches nothing
 * but setup (not even re-authentication), and finishing setup is what it is for.
 */
export function enrollmentNeedsReauthentication(deps: Pick<Deps, 'clock' | 'config'>, session: SessionContext): boolean {
  return session.state !== 'enrollment_required' && !isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs);
}

export function requireRecentAuthentication(deps: Pick<Deps, 'clock' | 'config'>, session: SessionContext): void {
  if (!isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs)) throw new HttpError('reauthentication_required');
}
