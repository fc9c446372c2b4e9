/**
 * Trusted browsers (PRODUCT.md §2.11; SECURITY.md rule 42). After a right code a user may trust
 * the browser: it gets a 256-bit secret in its own cookie, and the database keeps only the
 * secret's SHA-256, bound to the user and to the second factor the trust was granted after. A
 * later password login from that browser may skip the code — never the password — while:
 *   - the fixed expiry (granted_at + the account's days at grant time) has not passed, and never
 *     extended by use;
 *   - granted_at + the account's CURRENT days has not passed (0 = off): shortening the setting
 *     reaches trust already granted;
 *   - the factor it was granted after is still the user's and still allowed by the policy, and
 *     the account does not require a phishing-resistant method (a key must then be used each time).
 * Every event of §2.11 ends all of a user's trust through `endAllTrustedBrowsers`, inside the
 * transaction of the event itself.
 */
import { randomUUID } from 'node:crypto';
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Clock } from '../clock.ts';
import { generateToken, hashToken, isWellFormedToken } from '../crypto/tokens.ts';
import { readAccountPolicy } from '../enforcement/account-policy.ts';
import type { Database } from '../storage/schema.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The method recorded in a session's auth methods when a trusted browser stood in for the code: it proves no factor. */
export const TRUSTED_BROWSER_METHOD = 'trusted';

/**
 * Why all of a user's trust ended, written to the security log. Two more reasons are the lead's
 * to wire: 'password_changed' (helper verify) and 'suspicious_activity_reported' (helper report).
 */
export type TrustEndReason = 'password_reset' | 'password_changed' | 'factor_added' | 'factor_removed' | 'disable_link_used' | 'support_reset' | 'suspicious_activity_reported' | 'removed_all';

type Actor = { kind: 'user'; userId: string } | { kind: 'support' } | { kind: 'system' };

export interface TrustOwner {
  userId: string;
  accountId: string;
}

/** The account's days setting (no policy row, or never set: the default). */
export async function readTrustedBrowserDays(db: Database, accountId: string): Promise<number> {
  return (await readAccountPolicy(db, accountId)).trustedBrowserDays;
}

/** Whether a grant at `grantedAt`, with its fixed expiry, still stands under `currentDays`. */
function stillTrusted(row: { granted_at: number; expires_at: number }, currentDays: number, now: number): boolean {
  return currentDays > 0 && now < Number(row.expires_at) && now < Number(row.granted_at) + currentDays * DAY_MS;
}

/**
 * Trusts the browser after a right code of `factorKind` (inside the login's transaction). Answers
 * the secret for the cookie, or null when the account has trust turned off (0 days).
 */
export async function grantTrustedBrowser(trx: Database, clock: Clock, owner: TrustOwner, factorKind: string, origin: RequestOrigin): Promise<{ secret: string; expiresAt: number } | null> {
  const days = await readTrustedBrowserDays(trx, owner.accountId);
  if (days === 0) return null;
  const secret = generateToken();
  const now = clock.now();
  const id = randomUUID();
  const expiresAt = now + days * DAY_MS;
  await trx
    .insertInto('trusted_browsers')
    .values({ id, user_id: owner.userId, secret_hash: hashToken(secret), factor_kind: factorKind, granted_at: now, expires_at: expiresAt, last_used_at: null, user_agent: (origin.userAgent ?? '').slice(0, 512), ip: origin.ip ?? '' })
    .execute();
  await recordSecurityEvent(trx, clock, { type: 'trusted_browser_added', accountId: owner.accountId, actor: { kind: 'user', userId: owner.userId }, subjectUserId: owner.userId, origin, detail: { id, method: factorKind, days } });
  return { secret, expiresAt };
}

export interface TrustCheck {
  /** The user's confirmed methods the policy allows. */
  methods: readonly string[];
  requirePhishingResistant: boolean;
  /** The account's current days setting, read by the login with the rest of its policy (one read). */
  days: number;
}

/**
 * The trust this browser's secret grants this user at a password login, or null. A secret of
 * another user, a forged, expired or removed one all answer null alike, and the login asks for
 * the code. A use is recorded (last_used_at) but never extends the expiry.
 */
export async function useTrustedBrowser(db: Database, clock: Clock, owner: TrustOwner, secret: string | undefined, check: TrustCheck): Promise<{ id: string } | null> {
  if (!secret || !isWellFormedToken(secret) || check.requirePhishingResistant) return null;
  const row = await db.selectFrom('trusted_browsers').select(['id', 'user_id', 'factor_kind', 'granted_at', 'expires_at']).where('secret_hash', '=', hashToken(secret)).executeTakeFirst();
  if (!row || row.user_id !== owner.userId || !check.methods.includes(row.factor_kind)) return null;
  const now = clock.now();
  if (!stillTrusted(row, check.days, now)) return null;
  await db.updateTable('trusted_browsers').set({ last_used_at: now }).where('id', '=', row.id).execute();
  return { id: row.id };
}

export interface TrustedBrowserListing {
  id: string;
  userAgent: string;
  ip: string;
  grantedAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
}

/** The user's trust that still stands, newest first (expired rows are left to the sweep). */
export async function listTrustedBrowsers(db: Database, clock: Clock, owner: TrustOwner): Promise<TrustedBrowserListing[]> {
  const days = await readTrustedBrowserDays(db, owner.accountId);
  const now = clock.now();
  const rows = await db.selectFrom('trusted_browsers').select(['id', 'user_agent', 'ip', 'granted_at', 'expires_at', 'last_used_at']).where('user_id', '=', owner.userId).orderBy('granted_at', 'desc').orderBy('id').execute();
  return rows
    .filter((row) => stillTrusted(row, days, now))
    .map((row) => ({
      id: row.id,
      userAgent: row.user_agent,
      ip: row.ip,
      grantedAt: Number(row.granted_at),
      // The earlier of the fixed expiry and what the current setting allows.
      expiresAt: Math.min(Number(row.expires_at), Number(row.granted_at) + days * DAY_MS),
      lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    }));
}

/** "Remove" on one browser of the user's own; false when there is no such browser of theirs. */
export async function removeTrustedBrowser(db: Database, clock: Clock, owner: TrustOwner, id: string, origin: RequestOrigin): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('trusted_browsers').where('id', '=', id).where('user_id', '=', owner.userId).returning('id').execute();
    if (removed.length === 0) return false;
    await recordSecurityEvent(trx, clock, { type: 'trusted_browser_removed', accountId: owner.accountId, actor: { kind: 'user', userId: owner.userId }, subjectUserId: owner.userId, origin, detail: { reason: 'removed', id, count: 1 } });
    return true;
  });
}

/**
 * Ends every trusted browser of a user, inside the caller's transaction (the event that calls
 * for it: a reset, a factor added or removed, a disable link, the support command, "Remove all").
 * Writes trusted_browser_removed with the reason when any trust was there to end.
 */
export async function endAllTrustedBrowsers(trx: Database, clock: Clock, owner: TrustOwner, reason: TrustEndReason, context: { actor?: Actor; origin: RequestOrigin }): Promise<number> {
  const removed = await trx.deleteFrom('trusted_browsers').where('user_id', '=', owner.userId).returning('id').execute();
  if (removed.length === 0) return 0;
  await recordSecurityEvent(trx, clock, {
    type: 'trusted_browser_removed',
    accountId: owner.accountId,
    actor: context.actor ?? { kind: 'user', userId: owner.userId },
    subjectUserId: owner.userId,
    origin: context.origin,
    detail: { reason, count: removed.length },
  });
  return removed.length;
}

/**
 * Whether this browser's secret is one this user was ever granted and still holds (expired or not):
 * such a browser is not "new" for the new-browser login notice (PRODUCT.md §2.12).
 */
export async function holdsTrustedBrowserRecord(db: Database, userId: string, secret: string | undefined): Promise<boolean> {
  if (!secret || !isWellFormedToken(secret)) return false;
  const row = await db.selectFrom('trusted_browsers').select('id').where('secret_hash', '=', hashToken(secret)).where('user_id', '=', userId).executeTakeFirst();
  return row !== undefined;
}
