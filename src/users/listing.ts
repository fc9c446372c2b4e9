/**
 * Keyset pagination of an account's users, ordered by email. The cursor is the last email of
 * the previous page (base64url), so pages stay stable while users are added.
 */
import { sql, type CompiledQuery } from 'kysely';
import { selectUsersLackingTwoFactor, type AffectedScope } from '../enforcement/staged-enforcement.ts';
import { confirmedFactorKinds } from '../storage/confirmed-factor-kinds.ts';
import { nameStatement } from '../storage/named-statements.ts';
import type { Database, User } from '../storage/schema.ts';
import { normalizeEmail } from './users.ts';

export interface UserPageQuery {
  cursor: string | null;
  emailPrefix: string | null;
  limit: number;
  /** The "Without 2FA" filter (staged enforcement): only the users the enforcement affects. */
  lackingTwoFactor?: AffectedScope | null;
}

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

function afterCursor(cursor: string | null): { ok: true; after: string | null } | { ok: false } {
  if (!cursor) return { ok: true, after: null };
  const after = decodeCursor(cursor);
  return after === null ? { ok: false } : { ok: true, after };
}

function nextCursorOf(rows: readonly { email: string }[], limit: number): string | null {
  const last = rows[limit - 1];
  return rows.length > limit && last ? Buffer.from(`e:${last.email}`, 'utf8').toString('base64url') : null;
}

/** What the Users page shows of a user, with the kinds of factor they have confirmed. */
export type ListedUser = Pick<User, 'id' | 'email' | 'name' | 'role' | 'active' | 'last_login_at' | 'email_verified_at'> & {
  /** 1 while the user has not accepted their invitation (no password yet), else 0. */
  invited: number;
  /** Confirmed factor kinds, comma-separated, in no order (null: none); the registry's confirmedMethodsOf orders them. */
  factor_kinds: string | null;
};

export type ListedUserPage = { ok: true; users: ListedUser[]; nextCursor: string | null } | { ok: false; reason: 'bad_cursor' };

/**
 * The page's users with their factors in one query: only the columns the page shows (every
 * column of 50 rows, password hashes included, cost more to read into JavaScript than SQLite
 * took to find them), and the factor kinds aggregated per row through factors_user_kind
 * (`string_agg`, SQLite 3.44+ and PostgreSQL), so PostgreSQL answers in one round trip.
 */
function selectListedUsers(db: Database, accountId: string, lackingTwoFactor: AffectedScope | null | undefined) {
  const users = lackingTwoFactor ? selectUsersLackingTwoFactor(db, lackingTwoFactor) : db.selectFrom('users').where('users.account_id', '=', accountId);
  return users.select([
    'users.id',
    'users.email',
    'users.name',
    'users.role',
    'users.active',
    'users.last_login_at',
    'users.email_verified_at',
    // An invitation not yet accepted has no password: 1/0 alike on both databases.
    sql<number>`case when users.password_hash is null then 1 else 0 end`.as('invited'),
    confirmedFactorKinds,
  ]);
}

/**
 * The plain page (no search, no filter), first or later: compiled once per database, because
 * building and compiling it with Kysely cost as much as running it, and named on PostgreSQL
 * (parsed and planned once per connection). Its parameters: account, the email to start after
 * ('' for the first page: every stored email sorts after it), the row limit.
 */
const compiledPlainPages = new WeakMap<Database, CompiledQuery<ListedUser>>();

function plainPageRead(db: Database): CompiledQuery<ListedUser> {
  let compiled = compiledPlainPages.get(db);
  if (!compiled) {
    compiled = selectListedUsers(db, '', null).where('users.email', '>', '').orderBy('users.email').limit(1).compile();
    if (compiled.parameters.length !== 3) throw new Error('the plain Users page read must take exactly three parameters');
    nameStatement(compiled.sql, 'users_page');
    compiledPlainPages.set(db, compiled);
  }
  return compiled;
}

/** A page of the account's users for the Users page, its API, its CSV and the staged-enforcement preview. */
export async function listAccountUsersWithFactors(db: Database, accountId: string, query: UserPageQuery): Promise<ListedUserPage> {
  const cursor = afterCursor(query.cursor);
  if (!cursor.ok) return { ok: false, reason: 'bad_cursor' };
  let rows: ListedUser[];
  if (!query.emailPrefix && !query.lackingTwoFactor) {
    const compiled = plainPageRead(db);
    rows = (await db.executeQuery<ListedUser>({ ...compiled, parameters: [accountId, cursor.after ?? '', query.limit + 1] })).rows;
  } else {
    let select = selectListedUsers(db, accountId, query.lackingTwoFactor);
    if (cursor.after !== null) select = select.where('users.email', '>', cursor.after);
    if (query.emailPrefix) {
      const pattern = `${escapeLike(normalizeEmail(query.emailPrefix))}%`;
      select = select.where(sql<boolean>`users.email like ${pattern} escape '\\'`);
    }
    rows = await select.orderBy('users.email').limit(query.limit + 1).execute();
  }
  return { ok: true, users: rows.slice(0, query.limit), nextCursor: nextCursorOf(rows, query.limit) };
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
