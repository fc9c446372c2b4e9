/**
 * Re-authentication (PRODUCT.md §4, SECURITY.md rule 28): a signed-in user enters the password
 * again and the session counts as recently authenticated for sensitive actions.
 */
import type { RequestOrigin } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { checkUserPassword, type PasswordCheckOutcome } from '../passwords/password-check.ts';
import { markReauthenticated, type SessionContext } from '../sessions/sessions.ts';

export async function reauthenticateWithPassword(
  deps: Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'hasher'>,
  session: Pick<SessionContext, 'tokenHash' | 'userId' | 'email' | 'accountId'>,
  password: string,
  origin: RequestOrigin,
): Promise<PasswordCheckOutcome> {
  const checked = await checkUserPassword(deps, session, password, origin, 'reauthenticate');
  if (checked.ok) await markReauthenticated(deps.db, deps.clock, session.tokenHash);
  return checked;
}
