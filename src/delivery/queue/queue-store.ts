/**
 * The delivery queue's rows (migration 007): writing a message inside the caller's transaction,
 * claiming due messages by one conditional write each, and recording how an attempt ended.
 *
 * Every message is stored encrypted (AES-256-GCM under ENCRYPTION_KEY, bound to its id): links
 * and codes ride in the bodies, and addresses and names are personal data (SECURITY.md rule 29).
 * The payload is erased as soon as the message is sent or given up, so a later dump holds only
 * the record that a message of some kind went to some user, and when.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../../clock.ts';
import { encryptSecret, openSecret } from '../../crypto/encryption.ts';
import type { Keys } from '../../crypto/keys.ts';
import type { Database, DeliveryStatus } from '../../storage/schema.ts';

export interface QueuedMessage {
  /** How it travels: 'email', 'backchannel_logout' (OpenID Connect logout tokens); a webhook would fit the same rows. */
  channel: string;
  /** What it is, for the record ('invitation', 'password_reset' …); a fixed word, never data. */
  kind: string;
  /** Whom it is about, when a user. */
  userId: string | null;
  /** What the channel's sender needs (recipient, subject, body): stored encrypted only. */
  payload: unknown;
}

export interface ClaimedMessage {
  id: string;
  channel: string;
  kind: string;
  claimId: string;
  /** Including this one. */
  attempt: number;
  /** Null for a message sent at once whose sender died mid-send: there is nothing to resend. */
  payload: unknown;
  /** Set when none of the configured keys opens the payload (a key removed too early). */
  unreadable: string | null;
}

export interface ClaimRules {
  /** Who is claiming (one id per process). */
  instanceId: string;
  /** How long a claim holds before another worker may take the message back. */
  leaseMs: number;
  /** How long other instances leave a new message to the instance that wrote it. */
  handoffMs: number;
  limit: number;
  /** The channels this worker has a sender for: others stay queued for a process that has one (absent: every channel). */
  channels?: readonly string[];
}

function associatedData(id: string): string {
  return `delivery-queue:${id}`;
}

function sealPayload(keys: Keys, id: string, payload: unknown): string {
  return encryptSecret(keys.encryption, new TextEncoder().encode(JSON.stringify(payload)), associatedData(id));
}

function openPayload(keys: Keys, id: string, stored: string): unknown {
  return JSON.parse(new TextDecoder().decode(openSecret(keys, stored, associatedData(id))));
}

/** Writes the message with `db`, which should be the transaction of the event that causes it. */
export async function enqueueMessage(db: Database, clock: Clock, keys: Keys, instanceId: string, message: QueuedMessage): Promise<string> {
  const id = randomUUID();
  const now = clock.now();
  await db
    .insertInto('delivery_queue')
    .values({
      id,
      channel: message.channel,
      kind: message.kind,
      user_id: message.userId,
      payload_encrypted: sealPayload(keys, id, message.payload),
      status: 'queued',
      attempts: 0,
      created_at: now,
      next_attempt_at: now,
      enqueued_by: instanceId,
      claim_id: null,
      lease_until: null,
      sent_at: null,
      last_error: null,
    })
    .execute();
  return id;
}

/**
 * Records a message that the caller sends itself at once (a login text the user is waiting
 * for), already claimed by the caller and with no payload: the code never reaches the disk.
 */
export async function recordImmediateMessage(db: Database, clock: Clock, instanceId: string, message: Omit<QueuedMessage, 'payload'>, leaseMs: number): Promise<string> {
  const id = randomUUID();
  const now = clock.now();
  await db
    .insertInto('delivery_queue')
    .values({ id, channel: message.channel, kind: message.kind, user_id: message.userId, payload_encrypted: null, status: 'sending', attempts: 1, created_at: now, next_attempt_at: now, enqueued_by: instanceId, claim_id: id, lease_until: now + leaseMs, sent_at: null, last_error: null })
    .execute();
  return id;
}

/**
 * Takes up to `limit` due messages for this worker. Each is taken by one conditional UPDATE that
 * repeats the "is it due and free" test, so when several instances race for a message exactly
 * one of them gets a row back. Due means: queued and its retry time has come — a new message
 * at once for the instance that wrote it (woken in the same process; the clock is not
 * consulted, so it never waits on a clock set back), for the others after the hand-off; or
 * claimed by a worker whose lease ran out (it crashed mid-send).
 */
export async function claimDueMessages(db: Database, clock: Clock, keys: Keys, rules: ClaimRules): Promise<ClaimedMessage[]> {
  const now = clock.now();
  const channels = rules.channels;
  if (channels && channels.length === 0) return [];
  const isDue = (eb: any) => {
    const due = eb.or([
      eb.and([eb('status', '=', 'queued'), eb('attempts', '=', 0), eb('enqueued_by', '=', rules.instanceId)]),
      eb.and([
        eb('status', '=', 'queued'),
        eb('next_attempt_at', '<=', now),
        eb.or([eb('enqueued_by', 'is', null), eb('enqueued_by', '=', rules.instanceId), eb('next_attempt_at', '<=', now - rules.handoffMs)]),
      ]),
      eb.and([eb('status', '=', 'sending'), eb('lease_until', '<', now)]),
    ]);
    return channels ? eb.and([eb('channel', 'in', channels), due]) : due;
  };
  const candidates = await db.selectFrom('delivery_queue').select('id').where(isDue).orderBy('next_attempt_at').limit(rules.limit).execute();
  if (candidates.length === 0) return [];
  // One transaction for the batch's claims, not one commit per message (on SQLite every commit is
  // an fsync). Each claim stays one conditional UPDATE: on PostgreSQL a concurrent claimer's
  // UPDATE of the same row waits for this commit, then re-checks `isDue` and finds it taken.
  const claim = (trx: Database) => claimCandidates(trx, now, keys, rules, candidates, isDue);
  return db.isTransaction ? claim(db) : db.transaction().execute(claim);
}

async function claimCandidates(db: Database, now: number, keys: Keys, rules: ClaimRules, candidates: { id: string }[], isDue: (eb: any) => any): Promise<ClaimedMessage[]> {
  const claimed: ClaimedMessage[] = [];
  for (const { id } of candidates) {
    const claimId = randomUUID();
    const row = await db
      .updateTable('delivery_queue')
      .set({ status: 'sending', claim_id: claimId, lease_until: now + rules.leaseMs, attempts: sql<number>`attempts + 1` })
      .where('id', '=', id)
      .where(isDue)
      .returning(['id', 'channel', 'kind', 'attempts', 'payload_encrypted'])
      .executeTakeFirst();
    if (!row) continue;
    const message = { id: row.id, channel: row.channel, kind: row.kind, claimId, attempt: Number(row.attempts) };
    try {
      claimed.push({ ...message, payload: row.payload_encrypted === null ? null : openPayload(keys, row.id, row.payload_encrypted), unreadable: null });
    } catch {
      // Claimed all the same, so that the worker records the failed try (and, in the end, gives up).
      claimed.push({ ...message, payload: null, unreadable: 'none of the configured encryption keys opens this message' });
    }
  }
  return claimed;
}

/** The provider took it: the payload goes, the record stays. False when the claim was lost. */
export async function markMessageSent(db: Database, clock: Clock, message: Pick<ClaimedMessage, 'id' | 'claimId'>): Promise<boolean> {
  const updated = await db
    .updateTable('delivery_queue')
    .set({ status: 'sent', sent_at: clock.now(), payload_encrypted: null, claim_id: null, lease_until: null, last_error: null })
    .where('id', '=', message.id)
    .where('claim_id', '=', message.claimId)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/**
 * An attempt failed: try again after `retryInMs`, or give up (null) — then the payload is
 * erased like a sent one's and the row stays 'failed' for the pages and metrics.
 */
export async function markAttemptFailed(db: Database, clock: Clock, message: Pick<ClaimedMessage, 'id' | 'claimId'>, error: string, retryInMs: number | null): Promise<void> {
  const lastError = error.slice(0, 500);
  const base = db.updateTable('delivery_queue').where('id', '=', message.id).where('claim_id', '=', message.claimId).where('status', '=', 'sending');
  if (retryInMs === null) {
    await base.set({ status: 'failed', payload_encrypted: null, claim_id: null, lease_until: null, last_error: lastError }).execute();
    return;
  }
  // Whichever instance is free next takes the retry.
  await base.set({ status: 'queued', next_attempt_at: clock.now() + retryInMs, enqueued_by: null, claim_id: null, lease_until: null, last_error: lastError }).execute();
}

/**
 * `twofold rotate-key`: messages still waiting are encrypted again under the current key, so the
 * previous key can go without failing them. A row that a worker changed meanwhile (sent, and
 * its payload erased) is left as it is: the update is conditional on the old ciphertext.
 */
export async function reencryptWaitingMessages(db: Database, keys: Keys): Promise<number> {
  const rows = await db.selectFrom('delivery_queue').select(['id', 'payload_encrypted']).where('payload_encrypted', 'is not', null).execute();
  let count = 0;
  for (const row of rows) {
    let payload: unknown;
    try {
      payload = openPayload(keys, row.id, row.payload_encrypted!);
    } catch {
      continue; // no configured key opens it: left for the worker to retry and, in the end, give up
    }
    const updated = await db.updateTable('delivery_queue').set({ payload_encrypted: sealPayload(keys, row.id, payload) }).where('id', '=', row.id).where('payload_encrypted', '=', row.payload_encrypted).executeTakeFirst();
    count += Number(updated.numUpdatedRows);
  }
  return count;
}

export interface QueueCount {
  channel: string;
  status: DeliveryStatus;
  count: number;
}

/** How many messages are in each state, per channel (metrics). */
export async function countMessages(db: Database): Promise<QueueCount[]> {
  const rows = await db.selectFrom('delivery_queue').select(['channel', 'status', (eb) => eb.fn.countAll<number>().as('count')]).groupBy(['channel', 'status']).execute();
  return rows.map((row) => ({ channel: row.channel, status: row.status, count: Number(row.count) }));
}
