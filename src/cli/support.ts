/**
 * `twofold support …`: what the operator uses to help a user who cannot help themselves
 * (PRODUCT.md §2.7). show-user gives the identity context to check before acting.
 */
import { createInterface } from 'node:readline/promises';
import pino from 'pino';
import { findAccountById } from '../accounts/accounts.ts';
import { systemClock } from '../clock.ts';
import { deriveKeys } from '../crypto/keys.ts';
import { createDelivery } from '../delivery/delivery.ts';
import { disableTwoFactor } from '../factors/disable-two-factor.ts';
import { listSecurityEvents } from '../audit/listing.ts';
import type { Config } from '../config.ts';
import { listConfirmedMethods } from '../factors/registry.ts';
import { listSecurityKeys } from '../factors/webauthn/keys.ts';
import { openStorage } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { deliveryKindNames, describeDelivery, listPersonDeliveries } from '../users/deliveries.ts';
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
    const keys = await listSecurityKeys(storage.db, user.id);
    const events = await listSecurityEvents(storage.db, user.account_id, { cursor: null, userId: user.id, type: null, limit: 10 });
    // How the e-mails that let them in went: kind, status and times only (the queue's payload stays sealed).
    const deliveries = await listPersonDeliveries(storage.db, user.id);
    const status = user.active !== 1 ? ' (deactivated)' : user.password_hash === null ? ' (invited, has not set a password yet)' : '';
    const lines = [
      `User:        ${user.name} <${user.email}> (${user.id})`,
      `Account:     ${account?.name ?? '?'} (${user.account_id})${account?.enforce_2fa === 1 ? ', enforces 2FA' : ''}`,
      `Role:        ${user.role}${status}`,
      `Email:       ${user.email_verified_at === null ? 'not verified' : `verified ${iso(user.email_verified_at)}`}`,
      `2FA:         ${methods.length > 0 ? methods.join(', ') : 'not enabled'}`,
      // Names only: the operator needs to know which keys exist, nothing that identifies them further.
      ...(keys.length > 0 ? [`Keys:        ${keys.map((key) => `"${key.name}"`).join(', ')}`] : []),
      `Created:     ${iso(user.created_at)}`,
      `Last login:  ${iso(user.last_login_at)}`,
      'E-mails:',
      ...(deliveries.length > 0 ? deliveries.map((delivery) => `  ${deliveryKindNames[delivery.kind].padEnd(20)} ${describeDelivery(delivery)}`) : ['  none sent']),
      'Recent security events:',
      ...(events.ok && events.events.length > 0 ? events.events.map((e) => `  ${e.at}  ${e.type.padEnd(26)} ip ${e.ip ?? '-'}  by ${e.actor.kind}${e.actor.email ? ` ${e.actor.email}` : ''}`) : ['  none']),
    ];
    console.log(lines.join('\n'));
    return 0;
  } finally {
    await storage.close();
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    // No one to ask (a script or CI): only --yes may act without a person confirming.
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', (chunk) => (text += chunk));
      process.stdin.on('end', () => resolve(text));
      process.stdin.on('error', () => resolve(''));
    });
    process.stdout.write(`${question} ${answer.split('\n')[0] ?? ''}\n`);
    return /^y(es)?$/i.test((answer.split('\n')[0] ?? '').trim());
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} `)).trim());
  } finally {
    prompt.close();
  }
}

/**
 * `twofold support disable-2fa`: for a sole administrator who lost their device (PRODUCT.md
 * §2.7). Removes every factor and recovery code, signs out every session, records the reason
 * with actor "support" and e-mails the user. It never shows or sets a factor (rule 24).
 */
export async function disable2FACommand(config: Config, args: { email?: string; reason?: string; yes?: boolean }): Promise<number> {
  if (!args.email) throw new UsageError('support disable-2fa needs --email <address>');
  const reason = args.reason?.trim();
  if (!reason) throw new UsageError('support disable-2fa needs --reason "<ticket or explanation>" for the security log');
  const storage = openStorage(config.databaseURL);
  // Mail goes through the configured provider; in development the outbox only prints it here.
  const log = pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const delivery = createDelivery(config, systemClock, log, { db: storage.db, keys: deriveKeys(config.encryptionKey, config.previousEncryptionKeys) });
  try {
    await migrateToLatest(storage.db);
    const user = await findUserByEmail(storage.db, args.email);
    if (!user) throw new UsageError(`no user has the email ${args.email}`);
    const methods = await listConfirmedMethods(storage.db, user);
    if (methods.length === 0) {
      console.log(`${user.email} has no two-factor authentication; nothing to do.`);
      return 0;
    }
    const account = await findAccountById(storage.db, user.account_id);
    console.log(`User ${user.name} <${user.email}>, ${user.role} of "${account?.name ?? '?'}", has 2FA: ${methods.join(', ')}.`);
    if (!args.yes && !(await confirm('Turn off their two-factor authentication and sign out every session? [y/N]'))) {
      console.log('Nothing changed.');
      return 1;
    }
    const subject = { userId: user.id, accountId: user.account_id, email: user.email, name: user.name };
    await disableTwoFactor({ db: storage.db, clock: systemClock, config, delivery }, subject, { kind: 'support', reason }, { ip: null, userAgent: 'twofold support command' });
    console.log(`Turned off two-factor authentication for ${user.email} (${methods.join(', ')} removed, recovery codes voided, every session signed out).`);
    console.log(`Recorded in the security log as support_reset with the reason "${reason}"; ${delivery.outbox ? 'the notice e-mail went to this process\'s development outbox (no SMTP_URL), so nobody received it' : 'the user was e-mailed'}.`);
    if (account?.enforce_2fa === 1) console.log('Their account enforces 2FA, so they will set it up again at their next login.');
    // The notice is queued with the change; try it now rather than wait for a server's worker
    // (if the mail server refuses, a running server retries it).
    await delivery.queue.drain();
    return 0;
  } finally {
    delivery.close();
    await storage.close();
  }
}
