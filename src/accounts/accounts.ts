/** Accounts (organisations): creation with their first admin, and reading settings. */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Account, Database, User } from '../storage/schema.ts';
import { insertUser } from '../users/users.ts';

/** An account as stored, for the modules (pages included) that show its settings. */
export type { Account };

export interface SignupInput {
  accountName: string;
  name: string;
  email: string;
  passwordHash: string;
}

export type SignupOutcome = { ok: true; account: Account; user: User } | { ok: false; reason: 'email_taken' };

/** Account and first admin are created together or not at all. */
export async function createAccountWithAdmin(db: Database, clock: Clock, input: SignupInput): Promise<SignupOutcome> {
  return db.transaction().execute(async (trx) => {
    const account: Account = { id: randomUUID(), name: input.accountName.trim(), enforce_2fa: 0, created_at: clock.now() };
    await trx.insertInto('accounts').values(account).execute();
    const user = await insertUser(trx, clock, { accountId: account.id, email: input.email, name: input.name, role: 'admin', passwordHash: input.passwordHash });
    if (!user) {
      await trx.deleteFrom('accounts').where('id', '=', account.id).execute();
      return { ok: false, reason: 'email_taken' } as const;
    }
    return { ok: true, account, user } as const;
  });
}

export async function findAccountById(db: Database, id: string): Promise<Account | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface PublicAccount {
  id: string;
  name: string;
  enforce2fa: boolean;
}

export function toPublicAccount(account: Account): PublicAccount {
  return { id: account.id, name: account.name, enforce2fa: account.enforce_2fa === 1 };
}
