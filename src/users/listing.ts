/**
 * Keyset pagination of an account's users, ordered by email. The cursor is the last email of
 * the previous page (base64url), so pages stay stable while users are added.
 */
import { sql } from 'kysely';
import { selectUsersLackingTwoFactor, type AffectedScope } from '../enforcement/staged-enforcement.ts';
import type { Database, User } from '../storage/schema.ts';
import { normalizeEmail } from './users.ts';

export interface UserPageQuery {
  cursor: string | null;
  emailPrefix: string | null;
  limit: number;
  /** The "Without 2FA" filter (staged enforcement): only the users the enforcement affects. */
  lackingTwoFactor?: AffectedScope | null;
}

export type UserPage = { ok: true; users: User[]; nextCursor: string | null } | { ok: false; reason: 'bad_cursor' };

/** What an email in a cursor may hold: stored emails are trimmed, lower-case, at most 254 characters, without control characters. */
const CURSOR_EMAIL = /^[^\s\u0000-\u001f\u007f]{1,254}$/u;

/**
 * The email a cursor of ours names, or null for anything else. The decoded text is checked before
 * it reaches SQL (rule 34): PostgreSQL refuses a NUL byte in text with an error, and bytes that are
 * not UTF-8 would be silently replaced, so only a cursor that encodes back to itself is ours.
 */
function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor || !text.startsWith('e:')) return null;
  const email = text.slice(2);
  return CURSOR_EMAIL.test(email) && email === normalizeEmail(email) ? email : null;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

export async function listAccountUsers(db: Database, accountId: string, query: UserPageQuery): Promise<UserPage> {
  let after: string | null = null;
  if (query.cursor) {
    after = decodeCursor(query.cursor);
    if (after === null) return { ok: false, reason: 'bad_cursor' };
  }
  let select = query.lackingTwoFactor ? selectUsersLackingTwoFactor(db, query.lackingTwoFactor).selectAll('users') : db.selectFrom('users').selectAll().where('account_id', '=', accountId);
  if (after !== null) select = select.where('email', '>', after);
  if (query.emailPrefix) {
    // ESCAPE is spelled out: SQLite has no default escape character for LIKE.
    const pattern = `${escapeLike(normalizeEmail(query.emailPrefix))}%`;
    select = select.where(sql<boolean>`email like ${pattern} escape '\\'`);
  }
  const rows = await select.orderBy('email').limit(query.limit + 1).execute();
  const users = rows.slice(0, query.limit);
  const last = users[users.length - 1];
  const nextCursor = rows.length > query.limit && last ? Buffer.from(`e:${last.email}`, 'utf8').toString('base64url') : null;
  return { ok: true, users, nextCursor };
}

/**
 * Active users of the account without any confirmed factor: the people enforcement is still
 * waiting for. One indexed anti-join, so it stays cheap for large accounts.
 */
export async function countUsersWithoutSecondFactor(db: Database, accountId: string): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .where('active', '=', 1)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('factors').select('factors.id').whereRef('factors.user_id', '=', 'users.id'))))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
