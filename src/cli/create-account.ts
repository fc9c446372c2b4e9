/** `twofold create-account`: an operator creates an account and its first admin from the shell. */
import { createAccountWithAdmin } from '../accounts/accounts.ts';
import { systemClock } from '../clock.ts';
import type { Config } from '../config.ts';
import { createPasswordHasher } from '../crypto/password-hasher.ts';
import { passwordWeakness } from '../passwords/policy.ts';
import { openStorage } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { UsageError } from './usage-error.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function createAccountCommand(config: Config, args: { 'account-name'?: string; name?: string; email?: string; 'password-stdin'?: boolean }): Promise<number> {
  const accountName = args['account-name']?.trim();
  const name = args.name?.trim();
  const email = args.email?.trim();
  if (!accountName || !name || !email) throw new UsageError('create-account needs --account-name, --name and --email');
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new UsageError(`"${email}" is not an email address`);
  // The password never goes on the command line (shell history, ps): stdin only.
  if (!args['password-stdin']) throw new UsageError('give the password on standard input with --password-stdin (for example: printf %s "$PASSWORD" | twofold create-account … --password-stdin)');
  const password = await readStdin();
  const weakness = passwordWeakness(config.policy, password);
  if (weakness === 'length') throw new UsageError('the password must be between 8 and 128 characters');
  if (weakness === 'common') throw new UsageError('the password is too common: it appears in lists of leaked passwords; choose another');
  const storage = openStorage(config.databaseURL);
  try {
    await migrateToLatest(storage.db);
    const hashed = await createPasswordHasher(1, 1).hashPassword(password);
    if (!hashed.ok) throw new Error('could not hash the password');
    const created = await createAccountWithAdmin(storage.db, systemClock, { accountName, name, email, passwordHash: hashed.value });
    if (!created.ok) throw new UsageError(`a user with the email ${email} already exists`);
    console.log(`Created account "${created.account.name}" (${created.account.id}) with administrator ${created.user.email}.`);
    return 0;
  } finally {
    await storage.close();
  }
}
