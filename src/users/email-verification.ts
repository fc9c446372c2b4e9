/**
 * E-mail verification (issue 17). Sign-up sends a single-use link (links.ts: 256-bit, hashed at
 * rest, 7 days, the newest voids older ones) to PUBLIC_URL/email/verify/<token>; opening it shows
 * a button and consumes nothing (mail scanners open links), the POST verifies. An accepted
 * invitation and a completed password reset prove the address too: both are links only the
 * mailbox received. Nothing is blocked while unverified — the pages show a banner and OpenID
 * Connect says `email_verified: false`.
 */
import type { Clock } from '../clock.ts';
import type { Deps } from '../deps.ts';
import { retryAfterSeconds } from '../limits/counters.ts';
import { buildLinkURL, consumeLink, issueLink } from '../links/links.ts';
import { emailVerificationEmail } from '../notices/email-texts.ts';
import type { Database } from '../storage/schema.ts';

const HOUR = 3_600_000;

/** Marks the address proved; the first proof's time stays. */
export async function markEmailVerified(db: Database, clock: Clock, userId: string): Promise<void> {
  await db.updateTable('users').set({ email_verified_at: clock.now() }).where('id', '=', userId).where('email_verified_at', 'is', null).execute();
}

/** Queues a verification e-mail with a new link (voiding older ones), in the caller's transaction. */
export async function queueVerificationEmail(deps: Pick<Deps, 'clock' | 'config' | 'delivery'>, trx: Database, user: { id: string; email: string; name: string }): Promise<void> {
  const token = await issueLink(trx, deps.clock, 'email_verification', user.id, deps.config.policy.emailVerificationLinkMs);
  const link = buildLinkURL(deps.config.publicURL, 'email_verification', token);
  await deps.delivery.queue.enqueueEmail(trx, { to: user.email, ...emailVerificationEmail({ name: user.name, link }) }, { kind: 'email_verification', userId: user.id });
}

/** After sign-up: the first verification e-mail. */
export async function sendVerificationEmail(deps: Deps, user: { id: string; email: string; name: string }): Promise<void> {
  await deps.db.transaction().execute((trx) => queueVerificationEmail(deps, trx, user));
  await deps.delivery.queue.afterCommit();
}

export type ResendOutcome = { ok: true; sent: boolean } | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number };

/**
 * "Resend verification e-mail": capped per user per hour, so the button cannot mail-bomb the
 * address. An address already verified gets nothing (and the answer says so by `sent: false`).
 */
export async function resendVerificationEmail(deps: Deps, userId: string): Promise<ResendOutcome> {
  const user = await deps.db.selectFrom('users').select(['id', 'email', 'name', 'email_verified_at']).where('id', '=', userId).executeTakeFirst();
  if (!user || user.email_verified_at !== null) return { ok: true, sent: false };
  const hit = await deps.limits.hit(`verify-email:${userId}`, HOUR);
  if (hit.count > deps.config.policy.verificationEmailsPerUserPerHour) return { ok: false, reason: 'rate_limited', retryAfterSeconds: retryAfterSeconds(deps.clock, hit) };
  await sendVerificationEmail(deps, user);
  return { ok: true, sent: true };
}

export type VerifyOutcome = { ok: true; userId: string } | { ok: false; reason: 'link_expired' };

/** The POST of the link: one conditional write uses it; expired, used and unknown tokens read alike. */
export async function verifyEmail(deps: Pick<Deps, 'db' | 'clock'>, token: string): Promise<VerifyOutcome> {
  return deps.db.transaction().execute(async (trx) => {
    const link = await consumeLink(trx, deps.clock, 'email_verification', token);
    if (!link) return { ok: false, reason: 'link_expired' } as const;
    await markEmailVerified(trx, deps.clock, link.userId);
    return { ok: true, userId: link.userId } as const;
  });
}
