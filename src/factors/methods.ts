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

export function orderedMethods(confirmed: Record<FactorMethod, boolean>): FactorMethod[] {
  return METHOD_ORDER.filter((method) => confirmed[method]);
}
