/**
 * Keyset pagination of an account's users, ordered by email. The cursor is the last email of
 * the previous page (base64url), so pages stay stable while users are added.
 */
import { sql } from 'kysely';
import type { Database, User } from '../storage/schema.ts';
import { normalizeEmail } from './users.ts';

export interface UserPageQuery {
  cursor: string | null;
  emailPrefix: string | null;
  limit: number;
}

export type UserPage = { ok: true; users: User[]; nextCursor: string | null } | { ok: false; reason: 'bad_cursor' };

function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  return text.startsWith('e:') ? text.slice(2) : null;
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
  let select = db.selectFrom('users').selectAll().where('account_id', '=', accountId);
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
