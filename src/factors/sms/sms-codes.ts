/**
 * Codes sent by text message (PRODUCT.md §4: 6 digits, 10 minutes, 5 tries, resend after 30 s;
 * SECURITY.md rules 6, 7, 18, 29, 30, 32).
 *
 * A code belongs to one subject — a pending phone enrollment or a login challenge — and to its
 * user; its HMAC is bound to all three, so a code texted for one login cannot finish another.
 * Each subject has one row: a resend overwrites it (voiding the previous code) but keeps its
 * tries, so resending never buys more guesses. The cooldown is part of that same conditional
 * upsert, so two concurrent resends send one text.
 *
 * Sending is where the money goes (SMS pumping): before a text leaves, the country must be on
 * the operator's allow-list and three shared counters — per number, per account, per IP — take
 * the send atomically in deps.limits (the database, or Redis when configured), so no burst of
 * parallel requests and no number of instances can send more than the caps. Every refusal is
 * written to the security log and the log; every send is logged. Neither ever holds the code or
 * the full number.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { RequestOrigin } from '../../audit/events.ts';
import { recordSecurityEvent } from '../../audit/events.ts';
import type { Clock } from '../../clock.ts';
import type { Policy } from '../../config.ts';
import type { Keys } from '../../crypto/keys.ts';
import { constantTimeEqual, hmacHex } from '../../crypto/tokens.ts';
import type { Deps } from '../../deps.ts';
import { retryAfterSeconds } from '../../limits/counters.ts';
import { hitEach } from '../../limits/limit-counters.ts';
import type { Database, SMSCodePurpose } from '../../storage/schema.ts';
import { countryCallingCodeOf, isCountryAllowed, maskPhoneNumber } from './phone-number.ts';

export type SMSDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'delivery' | 'log' | 'limits' | 'metrics'>;

/** What a code is for: one enrollment or one login challenge of one user. */
export interface SMSCodeSubject {
  purpose: SMSCodePurpose;
  subjectId: string;
  userId: string;
}

/** Where the text goes — always read from the server's own record, never from the request. */
export interface SMSDestination {
  e164: string;
  phoneHash: string;
}

export type SMSRefusalReason = 'country_not_allowed' | 'cooldown' | 'phone_limit' | 'account_limit' | 'ip_limit';

export type SMSSendOutcome =
  | { ok: true; phoneMasked: string; expiresAt: number }
  /** No SMS provider is configured. */
  | { ok: false; reason: 'unavailable' }
  | { ok: false; reason: 'country_not_allowed'; countryCallingCode: string }
  | { ok: false; reason: 'cooldown' | 'capped'; retryAfterSeconds: number }
  /** The provider failed; the log has its error. */
  | { ok: false; reason: 'delivery_failed' };

/** Six digits, uniformly from the CSPRNG (randomInt rejects modulo bias). */
export function generateSMSCode(): string {
  return String(randomInt(1_000_000)).padStart(6, '0');
}

function hashSMSCode(keys: Keys, subject: SMSCodeSubject, code: string): string {
  return hmacHex(keys.hashing, `sms-code:${subject.purpose}:${subject.userId}:${subject.subjectId}:${code}`);
}

export function smsMessageBody(issuer: string, code: string): string {
  return `Your ${issuer} code is ${code}. Do not share it with anyone.`;
}

/**
 * Checks a code and uses it up, charging one try either way. The stored hash is compared in
 * constant time (rule 32); the try and, for the right code, the consumption are one
 * conditional update on the code's id — unconsumed, unexpired, under its tries — so of
 * concurrent submissions of one code exactly one succeeds (rule 6), and a code replaced by a
 * resend in the meantime (new id) is not accepted.
 */
export async function consumeSMSCode(db: Database, clock: Clock, keys: Keys, policy: Pick<Policy, 'smsCodeAttempts'>, subject: SMSCodeSubject, code: string): Promise<boolean> {
  const now = clock.now();
  const row = await db
    .selectFrom('sms_codes')
    .select(['id', 'code_hash'])
    .where('purpose', '=', subject.purpose)
    .where('subject_id', '=', subject.subjectId)
    .where('user_id', '=', subject.userId)
    .executeTakeFirst();
  if (!row) return false;
  const right = constantTimeEqual(row.code_hash, hashSMSCode(keys, subject, code));
  const charged = await db
    .updateTable('sms_codes')
    .set(right ? { attempts: sql<number>`attempts + 1`, consumed_at: now } : { attempts: sql<number>`attempts + 1` })
    .where('id', '=', row.id)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .where('attempts', '<', policy.smsCodeAttempts)
    .returning('id')
    .executeTakeFirst();
  return right && charged !== undefined;
}

/** Tries used and whether the subject's code is spent, for deciding whether a resend may reuse it. */
export async function readSMSCodeState(db: Database, subject: Pick<SMSCodeSubject, 'purpose' | 'subjectId'>): Promise<{ attempts: number; consumed: boolean } | null> {
  const row = await db.selectFrom('sms_codes').select(['attempts', 'consumed_at']).where('purpose', '=', subject.purpose).where('subject_id', '=', subject.subjectId).executeTakeFirst();
  return row ? { attempts: Number(row.attempts), consumed: row.consumed_at !== null } : null;
}

function cooldownRetryAfter(clock: Clock, policy: Policy, sentAt: number): number | null {
  const ready = sentAt + policy.smsResendCooldownMs;
  return ready > clock.now() ? Math.max(1, Math.ceil((ready - clock.now()) / 1000)) : null;
}

interface Cap {
  reason: 'phone_limit' | 'account_limit' | 'ip_limit';
  key: string;
  limit: number;
}

function capsFor(deps: SMSDeps, destination: SMSDestination, accountId: string, ip: string | null): Cap[] {
  const policy = deps.config.policy;
  const caps: Cap[] = [
    { reason: 'phone_limit', key: `sms-phone:${destination.phoneHash}`, limit: policy.smsPerNumberPerWindow },
    { reason: 'account_limit', key: `sms-account:${hmacHex(deps.keys.hashing, accountId)}`, limit: policy.smsPerAccountPerWindow },
  ];
  if (ip) caps.push({ reason: 'ip_limit', key: `sms-ip:${hmacHex(deps.keys.hashing, ip)}`, limit: policy.smsPerIPPerWindow });
  return caps;
}

/**
 * Takes one send from every cap, or none: each counter is one atomic increment that returns
 * the new count, so concurrent requests cannot all read "below the cap"; a request refused by
 * any cap gives all its hits back (it sent nothing).
 */
async function takeSendFromCaps(deps: SMSDeps, caps: Cap[]): Promise<{ ok: true } | { ok: false; reason: Cap['reason']; retryAfterSeconds: number }> {
  const window = deps.config.policy.smsCapWindowMs;
  const states = await hitEach(deps.limits, caps.map((cap) => cap.key), window);
  const overIndex = caps.findIndex((cap, index) => states[index]!.count > cap.limit);
  if (overIndex === -1) return { ok: true };
  await giveBackSend(deps, caps);
  const over = caps[overIndex]!;
  // The per-number window may have been started by someone else's texts to that number:
  // answer the whole window rather than a wait that would time another user's request.
  const retry = over.reason === 'phone_limit' ? Math.ceil(window / 1000) : retryAfterSeconds(deps.clock, states[overIndex]!);
  return { ok: false, reason: over.reason, retryAfterSeconds: retry };
}

async function giveBackSend(deps: SMSDeps, caps: Cap[]): Promise<void> {
  for (const cap of caps) await deps.limits.undo(cap.key);
}

export interface SMSRequester {
  accountId: string;
  origin: RequestOrigin;
}

async function recordRefusal(deps: SMSDeps, subject: SMSCodeSubject, requester: SMSRequester, destination: SMSDestination, reason: SMSRefusalReason): Promise<void> {
  const detail = { reason, purpose: subject.purpose, phone: maskPhoneNumber(destination.e164) };
  deps.log.warn({ sms: 'refused', ...detail, userId: subject.userId, accountId: requester.accountId }, 'text message refused');
  deps.metrics.smsRefused(reason);
  await recordSecurityEvent(deps.db, deps.clock, { type: 'sms_refused', accountId: requester.accountId, actor: { kind: 'user', userId: subject.userId }, subjectUserId: subject.userId, origin: requester.origin, detail });
}

/** The allow-list check alone, for callers that must refuse before writing anything. */
export async function refuseDisallowedCountry(deps: SMSDeps, subject: SMSCodeSubject, requester: SMSRequester, destination: SMSDestination): Promise<SMSSendOutcome | null> {
  const countryCallingCode = countryCallingCodeOf(destination.e164);
  if (isCountryAllowed(deps.config.smsAllowedCountryCodes, countryCallingCode)) return null;
  await recordRefusal(deps, subject, requester, destination, 'country_not_allowed');
  return { ok: false, reason: 'country_not_allowed', countryCallingCode };
}

/**
 * Texts a new code for `subject` to `destination`, voiding the previous one. In order: a
 * provider exists; the country is allowed; the subject's cooldown has run out (read first so
 * that a too-early resend does not touch the caps); the caps take the send; the cooldown is
 * claimed by the conditional upsert that stores the new code; the provider is called.
 */
export async function sendSMSCode(deps: SMSDeps, subject: SMSCodeSubject, destination: SMSDestination, requester: SMSRequester): Promise<SMSSendOutcome> {
  const sender = deps.delivery.sms;
  if (!sender) return { ok: false, reason: 'unavailable' };
  const disallowed = await refuseDisallowedCountry(deps, subject, requester, destination);
  if (disallowed) return disallowed;
  const { db, clock, config } = deps;
  const policy = config.policy;

  const previous = await db.selectFrom('sms_codes').select('sent_at').where('purpose', '=', subject.purpose).where('subject_id', '=', subject.subjectId).executeTakeFirst();
  const early = previous ? cooldownRetryAfter(clock, policy, Number(previous.sent_at)) : null;
  if (early !== null) {
    await recordRefusal(deps, subject, requester, destination, 'cooldown');
    return { ok: false, reason: 'cooldown', retryAfterSeconds: early };
  }

  const caps = capsFor(deps, destination, requester.accountId, requester.origin.ip);
  const taken = await takeSendFromCaps(deps, caps);
  if (!taken.ok) {
    await recordRefusal(deps, subject, requester, destination, taken.reason);
    return { ok: false, reason: 'capped', retryAfterSeconds: taken.retryAfterSeconds };
  }

  const code = generateSMSCode();
  const codeId = randomUUID();
  const now = clock.now();
  const expiresAt = now + policy.smsCodeMs;
  const codeHash = hashSMSCode(deps.keys, subject, code);
  const claimed = await db
    .insertInto('sms_codes')
    .values({ id: codeId, user_id: subject.userId, purpose: subject.purpose, subject_id: subject.subjectId, code_hash: codeHash, sent_at: now, expires_at: expiresAt, attempts: 0, consumed_at: null })
    .onConflict((oc) =>
      oc
        .columns(['purpose', 'subject_id'])
        // Tries are left as they are: a resend never resets them (rule 7).
        .doUpdateSet({ id: codeId, code_hash: codeHash, sent_at: now, expires_at: expiresAt, consumed_at: null })
        .where(sql<boolean>`sms_codes.sent_at <= ${now - policy.smsResendCooldownMs}`)
        .where('sms_codes.user_id', '=', subject.userId),
    )
    .returning('id')
    .executeTakeFirst();
  if (!claimed) {
    // A concurrent request sent the text for this subject a moment ago.
    await giveBackSend(deps, caps);
    const current = await db.selectFrom('sms_codes').select('sent_at').where('purpose', '=', subject.purpose).where('subject_id', '=', subject.subjectId).executeTakeFirst();
    await recordRefusal(deps, subject, requester, destination, 'cooldown');
    return { ok: false, reason: 'cooldown', retryAfterSeconds: (current && cooldownRetryAfter(clock, policy, Number(current.sent_at))) || 1 };
  }

  const logFields = { sms: 'sent', purpose: subject.purpose, provider: sender.name, phone: maskPhoneNumber(destination.e164), userId: subject.userId, accountId: requester.accountId };
  try {
    // Sent at once (the user is waiting for it) and recorded in the delivery queue without its body.
    await deps.delivery.queue.sendAtOnce('sms', { kind: `${subject.purpose}_code`, userId: subject.userId }, () => sender.sendSMS({ to: destination.e164, body: smsMessageBody(config.issuer, code) }));
  } catch (error) {
    // The provider's error names the provider and the HTTP status, never the text (see
    // SMSDeliveryError); the code and the full number stay out of the log.
    const retryable = typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
    deps.log.error({ ...logFields, sms: 'failed', err: error instanceof Error ? error.message : String(error), retryable }, 'text message delivery failed');
    // Let the user try again at once. A "retryable" failure means nothing was sent, so it
    // costs no send either; any other failure (a timeout) may have sent it and keeps its count.
    await db.updateTable('sms_codes').set({ sent_at: 0 }).where('id', '=', codeId).execute();
    if (retryable) await giveBackSend(deps, caps);
    deps.metrics.smsSend('failed');
    return { ok: false, reason: 'delivery_failed' };
  }
  deps.log.info(logFields, 'text message sent');
  deps.metrics.smsSend('sent');
  return { ok: true, phoneMasked: maskPhoneNumber(destination.e164), expiresAt };
}
