/**
 * Which second-factor methods a user has confirmed: one row per confirmed factor in `factors`
 * (a pending enrollment is not a method). Recovery codes are a fallback, not a method.
 */
import type { Database, FactorKind, User } from '../storage/schema.ts';

export type FactorMethod = FactorKind;

/** In a fixed order (app first), so answers do not depend on enrollment order. */
const METHOD_ORDER: FactorMethod[] = ['totp', 'sms'];

export async function listConfirmedMethods(db: Database, user: Pick<User, 'id'>): Promise<FactorMethod[]> {
  const rows = await db.selectFrom('factors').select('kind').where('user_id', '=', user.id).execute();
  const kinds = new Set(rows.map((row) => row.kind));
  return orderedMethods({ totp: kinds.has('totp'), sms: kinds.has('sms') });
}

/** The confirmed methods of each of `users` in one query (a page of users, not one query each). */
export async function listConfirmedMethodsOfUsers(db: Database, users: readonly Pick<User, 'id'>[]): Promise<Map<string, FactorMethod[]>> {
  const rows = users.length === 0 ? [] : await db.selectFrom('factors').select(['user_id', 'kind']).where('user_id', 'in', users.map((user) => user.id)).execute();
  const kindsByUser = new Map<string, Set<FactorKind>>();
  for (const row of rows) kindsByUser.set(row.user_id, (kindsByUser.get(row.user_id) ?? new Set()).add(row.kind));
  return new Map(users.map((user) => {
    const kinds = kindsByUser.get(user.id) ?? new Set<FactorKind>();
    return [user.id, orderedMethods({ totp: kinds.has('totp'), sms: kinds.has('sms') })];
  }));
}

export function orderedMethods(confirmed: Record<FactorMethod, boolean>): FactorMethod[] {
  return METHOD_ORDER.filter((method) => confirmed[method]);
}
