/**
 * Invitations: an admin adds a user by email; the user gets a single-use link (7 days) to set
 * a password. Accepting sets the password and nothing else — no session is created, so the
 * invited user still logs in through every step, second factor included (SECURITY.md rule 11).
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { hmacHex } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { retryAfterSeconds } from '../limits/counters.ts';
import { buildLinkURL, consumeLink, issueLink } from '../links/links.ts';
import { invitationEmail } from '../notices/email-texts.ts';
import type { Role, User } from '../storage/schema.ts';
import { markEmailVerified } from './email-verification.ts';
import { insertUser, setPasswordHash } from './users.ts';

export interface Inviter {
  userId: string;
  name: string;
  accountId: string;
  accountName: string;
}

export type InviteOutcome = { ok: true; user: User } | { ok: false; reason: 'email_taken' } | RateLimited;

const HOUR = 3_600_000;

type RateLimited = { ok: false; reason: 'rate_limited'; retryAfterSeconds: number };

/** Counts one invitation (new or resent) against the IP's and the account's hourly caps; the refusal if over. */
async function overInvitationCaps(deps: Deps, accountId: string, origin: RequestOrigin): Promise<RateLimited | null> {
  const { clock, config } = deps;
  const byIP = await deps.limits.hit(`invite-ip:${hmacHex(deps.keys.hashing, origin.ip ?? 'unknown')}`, HOUR);
  if (byIP.count > config.policy.invitationsPerIPPerHour) return { ok: false, reason: 'rate_limited', retryAfterSeconds: retryAfterSeconds(clock, byIP) };
  const byAccount = await deps.limits.hit(`invite-account:${accountId}`, HOUR);
  if (byAccount.count > config.policy.invitationsPerAccountPerHour) return { ok: false, reason: 'rate_limited', retryAfterSeconds: retryAfterSeconds(clock, byAccount) };
  return null;
}

export async function inviteUser(deps: Deps, inviter: Inviter, input: { email: string; name: string; role: Role }, origin: RequestOrigin): Promise<InviteOutcome> {
  const { db, clock, config } = deps;
  // Rule 44: every attempt counts against the client IP's and the account's hourly caps before
  // anything is looked up (refused ones too), which bounds the e-mails they can cause and the
  // addresses they can try. The IP cap holds across the accounts one client signs up, so probing
  // addresses by inviting them is no faster than probing them by signing up.
  const capped = await overInvitationCaps(deps, inviter.accountId, origin);
  if (capped) return capped;
  const result = await db.transaction().execute(async (trx) => {
    const user = await insertUser(trx, clock, { accountId: inviter.accountId, email: input.email, name: input.name, role: input.role, passwordHash: null });
    if (!user) return null;
    const token = await issueLink(trx, clock, 'invitation', user.id, config.policy.invitationLinkMs);
    await recordSecurityEvent(trx, clock, { type: 'user_invited', accountId: inviter.accountId, actor: { kind: 'user', userId: inviter.userId }, subjectUserId: user.id, origin, detail: { role: input.role } });
    // Queued with the user it invites: an unreachable mail server delays it, never loses it.
    const link = buildLinkURL(config.publicURL, 'invitation', token);
    await deps.delivery.queue.enqueueEmail(trx, { to: user.email, ...invitationEmail({ name: user.name, inviterName: inviter.name, accountName: inviter.accountName, link }) }, { kind: 'invitation', userId: user.id });
    return user;
  });
  if (!result) return { ok: false, reason: 'email_taken' };
  await deps.delivery.queue.afterCommit();
  return { ok: true, user: result };
}

export type ResendInvitationOutcome = { ok: true } | { ok: false; reason: 'not_found' | 'invitation_accepted' } | RateLimited;

/**
 * "Resend invitation" (issue 17) for a user of the admin's account who has not set a password
 * yet: a new link (the old one stops working, links.ts), capped like invitations, written to the
 * security log as `user_invited` with detail {resend: true}.
 */
export async function resendInvitation(deps: Deps, inviter: Inviter, userId: string, origin: RequestOrigin): Promise<ResendInvitationOutcome> {
  const { db, clock, config } = deps;
  const target = await db.selectFrom('users').select(['id', 'password_hash', 'active']).where('id', '=', userId).where('account_id', '=', inviter.accountId).executeTakeFirst();
  if (!target) return { ok: false, reason: 'not_found' };
  if (target.password_hash !== null || target.active !== 1) return { ok: false, reason: 'invitation_accepted' };
  const capped = await overInvitationCaps(deps, inviter.accountId, origin);
  if (capped) return capped;
  const outcome = await db.transaction().execute(async (trx) => {
    const token = await issueLink(trx, clock, 'invitation', userId, config.policy.invitationLinkMs);
    // Read again under the user lock issueLink took: an invitation accepted meanwhile is not resent.
    const user = await trx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
    if (user.password_hash !== null) return { ok: false, reason: 'invitation_accepted' } as const;
    await recordSecurityEvent(trx, clock, { type: 'user_invited', accountId: inviter.accountId, actor: { kind: 'user', userId: inviter.userId }, subjectUserId: user.id, origin, detail: { role: user.role, resend: true } });
    const link = buildLinkURL(config.publicURL, 'invitation', token);
    await deps.delivery.queue.enqueueEmail(trx, { to: user.email, ...invitationEmail({ name: user.name, inviterName: inviter.name, accountName: inviter.accountName, link }) }, { kind: 'invitation', userId: user.id });
    return { ok: true } as const;
  });
  if (outcome.ok) await deps.delivery.queue.afterCommit();
  return outcome;
}

export type AcceptOutcome = { ok: true; userId: string } | { ok: false; reason: 'link_expired' | 'busy' };

export async function acceptInvitation(deps: Deps, token: string, password: string): Promise<AcceptOutcome> {
  // Hash first: a busy hasher must not burn the link.
  const hashed = await deps.hasher.hashPassword(password);
  if (!hashed.ok) return { ok: false, reason: 'busy' };
  return deps.db.transaction().execute(async (trx) => {
    const link = await consumeLink(trx, deps.clock, 'invitation', token);
    if (!link) return { ok: false, reason: 'link_expired' } as const;
    await setPasswordHash(trx, link.userId, hashed.value);
    // Only the invited mailbox received the link: the address is proved.
    await markEmailVerified(trx, deps.clock, link.userId);
    return { ok: true, userId: link.userId } as const;
  });
}
