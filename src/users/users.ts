/** Users: lookup, creation and the role rules ("an account always keeps one active admin"). */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Database, Role, User } from '../storage/schema.ts';

/** A user as stored, for the modules (pages included) that show or change one. */
export type { Role, User };

/** Emails are compared case-insensitively; the stored form is trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserByEmail(db: Database, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
}

export async function findUserById(db: Database, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A user only if they belong to the given account: every admin lookup goes through this (tenancy). */
export async function findAccountUser(db: Database, accountId: string, userId: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', userId).where('account_id', '=', accountId).executeTakeFirst();
}

export interface NewUserInput {
  accountId: string;
  email: string;
  name: string;
  role: Role;
  passwordHash: string | null;
}

/** Returns null when the email is already taken (the unique index decides, not a prior read). */
export async function insertUser(db: Database, clock: Clock, input: NewUserInput): Promise<User | null> {
  const user: User = {
    id: randomUUID(),
    account_id: input.accountId,
    email: normalizeEmail(input.email),
    name: input.name.trim(),
    role: input.role,
    active: 1,
    password_hash: input.passwordHash,
    password_version: 0,
    password_login_blocked: 0,
    created_at: clock.now(),
    last_login_at: null,
    email_verified_at: null,
  };
  const inserted = await db.insertInto('users').values(user).onConflict((oc) => oc.column('email').doNothing()).returning('id').executeTakeFirst();
  return inserted ? user : null;
}

/**
 * Every password change goes through here, so the version that disable links check always moves,
 * and a password chosen after a "This wasn't me" report lifts its block on password logins.
 */
export async function setPasswordHash(db: Database, userId: string, passwordHash: string): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({ password_hash: passwordHash, password_version: eb('password_version', '+', 1), password_login_blocked: 0 }))
    .where('id', '=', userId)
    .execute();
}

export async function recordLogin(db: Database, clock: Clock, userId: string): Promise<void> {
  await db.updateTable('users').set({ last_login_at: clock.now() }).where('id', '=', userId).execute();
}

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  twoFactor: { enabled: boolean; methods: string[] };
  lastLoginAt: string | null;
  /** The user proved the address (verification link, accepted invitation or password reset). */
  emailVerified: boolean;
}

/** The API's shape of a user (PRODUCT.md §3), with the methods the user has confirmed. */
export function toPublicUser(user: Pick<User, 'id' | 'email' | 'name' | 'role' | 'active' | 'last_login_at' | 'email_verified_at'>, methods: readonly string[]): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    active: user.active === 1,
    twoFactor: { enabled: methods.length > 0, methods: [...methods] },
    lastLoginAt: user.last_login_at === null ? null : new Date(Number(user.last_login_at)).toISOString(),
    emailVerified: user.email_verified_at !== null,
  };
}
