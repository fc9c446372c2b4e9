/**
 * Setting up a method the account's policy does not allow (PRODUCT.md §2.9 "with only the
 * allowed methods offered"): refused at the start of its setup, on the API and the pages alike.
 */
import { HttpError } from '../errors.ts';
import type { SessionContext } from '../sessions/sessions.ts';

export function requireAllowedMethod(session: Pick<SessionContext, 'allowedMethods'>, kind: string): void {
  if (!session.allowedMethods.includes(kind)) throw new HttpError('method_disallowed');
}
