/**
 * Which second-factor methods a user has confirmed. The factor modules (authenticator app, SMS)
 * add their tables and answer here; until a factor table exists no user has a method.
 */
import type { Database, User } from '../storage/schema.ts';

export type FactorMethod = 'totp' | 'sms';

export async function listConfirmedMethods(_db: Database, _user: User): Promise<FactorMethod[]> {
  return [];
}
