/**
 * `twofold support …`: what the operator uses to help a user who cannot help themselves
 * (PRODUCT.md §2.7). show-user gives the identity context to check before acting.
 */
import { findAccountById } from '../accounts/accounts.ts';
import { listSecurityEvents } from '../audit/listing.ts';
import type { Config } from '../config.ts';
import { listConfirmedMethods } from '../factors/methods.ts';
import { openStorage } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { findUserByEmail } from '../users/users.ts';
import { UsageError } from './usage-error.ts';

function iso(ms: number | null): string {
  return ms === null ? 'never' : new Date(Number(ms)).toISOString();
}

export async function showUserCommand(config: Config, args: { email?: string }): Promise<number> {
  if (!args.email) throw new UsageError('support show-user needs --email <address>');
  const storage = openStorage(config.databaseURL);
  try {
    await migrateToLatest(storage.db);
    const user = await findUserByEmail(storage.db, args.email);
    if (!user) throw new UsageError(`no user has the email ${args.email}`);
    const account = await findAccountById(storage.db, user.account_id);
    const methods = await listConfirmedMethods(storage.db, user);
    const events = await listSecurityEvents(storage.db, user.account_id, { cursor: null, userId: user.id, type: null, limit: 10 });
    const lines = [
      `User:        ${user.name} <${user.email}> (${user.id})`,
      `Account:     ${account?.name ?? '?'} (${user.account_id})${account?.enforce_2fa === 1 ? ', enforces 2FA' : ''}`,
      `Role:        ${user.role}${user.active === 1 ? '' : ' (deactivated)'}`,
      `2FA:         ${methods.length > 0 ? methods.join(', ') : 'not enabled'}`,
      `Created:     ${iso(user.created_at)}`,
      `Last login:  ${iso(user.last_login_at)}`,
      'Recent security events:',
      ...(events.ok && events.events.length > 0 ? events.events.map((e) => `  ${e.at}  ${e.type.padEnd(26)} ip ${e.ip ?? '-'}  by ${e.actor.kind}${e.actor.email ? ` ${e.actor.email}` : ''}`) : ['  none']),
    ];
    console.log(lines.join('\n'));
    return 0;
  } finally {
    await storage.close();
  }
}
