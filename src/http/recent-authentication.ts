import type { Deps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { isRecentlyAuthenticated, type SessionContext } from '../sessions/sessions.ts';

/**
 * Sensitive actions (regenerating recovery codes, changing the phone, sending a disable link,
 * changing enforcement) need a login or a password re-entry within the last 15 minutes
 * (PRODUCT.md §4, SECURITY.md rule 28): a stolen, idle session cannot weaken the account.
 */
export function requireRecentAuthentication(deps: Pick<Deps, 'clock' | 'config'>, session: SessionContext): void {
  if (!isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs)) throw new HttpError('reauthentication_required');
}
