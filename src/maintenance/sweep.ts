/**
 * Deletes rows whose only purpose has passed: expired sessions, finished logins, old links,
 * pending enrollments, texted codes and security-key challenges, and rate-limit windows long over. Without it those
 * tables grow with every login forever. The security log is never swept (it is the record).
 *
 * Every instance sweeps on a timer; the deletes are idempotent, so instances sweeping at the
 * same time only repeat each other's work. Each table is swept in bounded batches so a large
 * backlog never holds a long lock or one huge transaction.
 *
 * Rows are kept for a day past their expiry: an expired and an unknown token answer alike, so
 * deleting changes no answer — the day only keeps recent history for investigation.
 */
import type { Clock } from '../clock.ts';
import type { Policy } from '../config.ts';
import type { Database } from '../storage/schema.ts';
import { startPeriodicJob, type JobLog } from './periodic-job.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const BATCH_SIZE = 1000;
/** Per table and sweep; the next sweep goes on where this one stopped. */
const MAX_BATCHES = 50;

export type SweepReport = Record<'sessions' | 'revoked_sessions' | 'links' | 'login_challenges' | 'totp_enrollments' | 'sms_enrollments' | 'sms_codes' | 'webauthn_challenges' | 'security_reports' | 'rate_limit_counters' | 'delivery_queue' | 'oidc_payloads' | 'trusted_browsers', number>;

/** How long the record of a sent or given-up message is kept (its body went when it was sent). */
const DELIVERY_RECORD_MS = 30 * DAY_MS;

type SweepPolicy = Pick<Policy, 'sessionIdleMs' | 'sessionAbsoluteMs'>;

/** Deletes, batch by batch, the rows `select` names by primary key; returns how many went. */
async function deleteInBatches(select: () => Promise<string[]>, remove: (keys: string[]) => Promise<void>): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
    const keys = await select();
    if (keys.length > 0) await remove(keys);
    deleted += keys.length;
    if (keys.length < BATCH_SIZE) break;
  }
  return deleted;
}

export async function sweepExpiredRows(db: Database, clock: Clock, policy: SweepPolicy): Promise<SweepReport> {
  const now = clock.now();
  const longAgo = now - DAY_MS;
  return {
    sessions: await deleteInBatches(
      async () =>
        (await db.selectFrom('sessions').select('token_hash').where((eb) => eb.or([eb('last_seen_at', '<', now - policy.sessionIdleMs), eb('created_at', '<', now - policy.sessionAbsoluteMs)])).limit(BATCH_SIZE).execute()).map((row) => row.token_hash),
      async (keys) => void (await db.deleteFrom('sessions').where('token_hash', 'in', keys).execute()),
    ),
    // "This wasn't me" links (7 days); a used one reads as expired, so deleting changes no answer.
    security_reports: await deleteInBatches(
      async () => (await db.selectFrom('security_reports').select('token_hash').where('expires_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.token_hash),
      async (keys) => void (await db.deleteFrom('security_reports').where('token_hash', 'in', keys).execute()),
    ),
    // Why a session ended is worth telling only while its browser could still have used it.
    revoked_sessions: await deleteInBatches(
      async () => (await db.selectFrom('revoked_sessions').select('token_hash').where('session_created_at', '<', now - policy.sessionAbsoluteMs).limit(BATCH_SIZE).execute()).map((row) => row.token_hash),
      async (keys) => void (await db.deleteFrom('revoked_sessions').where('token_hash', 'in', keys).execute()),
    ),
    links: await deleteInBatches(
      async () => (await db.selectFrom('links').select('token_hash').where('expires_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.token_hash),
      async (keys) => void (await db.deleteFrom('links').where('token_hash', 'in', keys).execute()),
    ),
    login_challenges: await deleteInBatches(
      async () => (await db.selectFrom('login_challenges').select('id').where('expires_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('login_challenges').where('id', 'in', keys).execute()),
    ),
    totp_enrollments: await deleteInBatches(
      async () => (await db.selectFrom('totp_enrollments').select('id').where('expires_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('totp_enrollments').where('id', 'in', keys).execute()),
    ),
    sms_enrollments: await deleteInBatches(
      async () => (await db.selectFrom('sms_enrollments').select('id').where('created_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('sms_enrollments').where('id', 'in', keys).execute()),
    ),
    sms_codes: await deleteInBatches(
      async () => (await db.selectFrom('sms_codes').select('id').where('expires_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('sms_codes').where('id', 'in', keys).execute()),
    ),
    webauthn_challenges: await deleteInBatches(
      async () => (await db.selectFrom('webauthn_challenges').select('id').where('expires_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('webauthn_challenges').where('id', 'in', keys).execute()),
    ),
    // No limit window is longer than a day (config caps them), so a window started a day ago is over.
    rate_limit_counters: await deleteInBatches(
      async () => (await db.selectFrom('rate_limit_counters').select('key').where('window_started_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.key),
      async (keys) => void (await db.deleteFrom('rate_limit_counters').where('key', 'in', keys).execute()),
    ),
    // Finished messages only: a queued or claimed one is never swept, however old.
    delivery_queue: await deleteInBatches(
      async () => (await db.selectFrom('delivery_queue').select('id').where('status', 'in', ['sent', 'failed']).where('created_at', '<', now - DELIVERY_RECORD_MS).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('delivery_queue').where('id', 'in', keys).execute()),
    ),
    // OpenID Connect codes, tokens, grants, sessions and interactions (their ids are random,
    // unique across models); one without an expiry lives until revoked.
    oidc_payloads: await deleteInBatches(
      async () => (await db.selectFrom('oidc_payloads').select('id').where('expires_at', '<', longAgo).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('oidc_payloads').where('expires_at', '<', longAgo).where('id', 'in', keys).execute()),
    ),
    // Trust past its fixed expiry can never be used again (a shorter setting only shortens it further).
    trusted_browsers: await deleteInBatches(
      async () => (await db.selectFrom('trusted_browsers').select('id').where('expires_at', '<', now).limit(BATCH_SIZE).execute()).map((row) => row.id),
      async (keys) => void (await db.deleteFrom('trusted_browsers').where('id', 'in', keys).execute()),
    ),
  };
}

const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

export type SweepLog = JobLog;

/**
 * Sweeps every ten minutes, starting at a random moment in the first minute so instances started
 * together do not sweep in step. Returns the function that stops it (on shutdown).
 */
export function startSweeping(db: Database, clock: Clock, policy: SweepPolicy, log: SweepLog): () => void {
  return startPeriodicJob('sweeping expired rows', SWEEP_INTERVAL_MS, async () => {
    const report = await sweepExpiredRows(db, clock, policy);
    if (Object.values(report).some((count) => count > 0)) log.info({ deleted: report }, 'swept expired rows');
  }, log);
}
