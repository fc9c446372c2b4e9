/**
 * The claims about a user that an application receives (PRODUCT.md §2.13): `sub` is the user id.
 * `email_verified` is true once the user proved the address: the sign-up's verification link, an
 * accepted invitation or a completed password reset (users.email_verified_at, issue 17).
 * A deactivated or unknown user has no claims: the provider then issues nothing.
 */
import type { Database } from '../storage/schema.ts';

export interface UserClaims {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  account: { id: string; name: string };
  role: string;
}

export async function findUserClaims(db: Database, userId: string): Promise<UserClaims | null> {
  const row = await db
    .selectFrom('users')
    .innerJoin('accounts', 'accounts.id', 'users.account_id')
    .select(['users.id', 'users.email', 'users.name', 'users.role', 'users.active', 'users.email_verified_at', 'accounts.id as account_id', 'accounts.name as account_name'])
    .where('users.id', '=', userId)
    .executeTakeFirst();
  if (!row || row.active !== 1) return null;
  return { sub: row.id, email: row.email, email_verified: row.email_verified_at !== null, name: row.name, account: { id: row.account_id, name: row.account_name }, role: row.role };
}
