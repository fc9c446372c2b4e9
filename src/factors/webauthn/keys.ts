/**
 * A user's registered security keys (PRODUCT.md §2.9): listing, the method's marker row in
 * `factors`, and removing one key.
 *
 * A user with at least one key has one `factors` row of kind `webauthn` (it holds no secret):
 * that row is what makes the key a method everywhere methods are counted (the session read,
 * enforcement, the Users page, turning 2FA off). Adding and removing keys lock that row first,
 * so concurrent changes of one user's keys run one after another and the row exists exactly
 * while a key does.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { RequestOrigin } from '../../audit/events.ts';
import { recordSecurityEvent } from '../../audit/events.ts';
import type { Deps } from '../../deps.ts';
import { methodRemovedEmail } from '../../notices/email-texts.ts';
import { queueSecurityNotice } from '../../notices/security-notice.ts';
import type { Database } from '../../storage/schema.ts';
import { lockUser } from '../../storage/user-lock.ts';
import { endAllTrustedBrowsers } from '../../trusted-browsers/trusted-browsers.ts';

export const WEBAUTHN_KIND = 'webauthn';
export const MAX_KEYS_PER_USER = 10;

export interface SecurityKey {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export async function listSecurityKeys(db: Database, userId: string): Promise<SecurityKey[]> {
  const rows = await db.selectFrom('webauthn_credentials').select(['id', 'name', 'created_at', 'last_used_at']).where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => ({ id: row.id, name: row.name, createdAt: Number(row.created_at), lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at) }));
}

export async function countSecurityKeys(db: Database, userId: string): Promise<number> {
  const row = await db.selectFrom('webauthn_credentials').select((eb) => eb.fn.countAll<number>().as('count')).where('user_id', '=', userId).executeTakeFirst();
  return Number(row?.count ?? 0);
}

/**
 * Creates the marker row if missing, and in any case locks it until the transaction ends (an
 * upsert that rewrites a column with itself takes the row lock on PostgreSQL; SQLite has one writer).
 */
export async function lockMarker(trx: Database, userId: string, now: number): Promise<void> {
  await trx
    .insertInto('factors')
    .values({ id: randomUUID(), user_id: userId, kind: WEBAUTHN_KIND, secret_encrypted: '', last_used_step: null, created_at: now, confirmed_at: now })
    .onConflict((oc) => oc.columns(['user_id', 'kind']).doUpdateSet({ confirmed_at: sql<number>`factors.confirmed_at` }))
    .execute();
}

/** Locks an existing marker row; false when the user has no key. */
async function lockExistingMarker(trx: Database, userId: string): Promise<boolean> {
  const row = await trx.updateTable('factors').set({ confirmed_at: sql<number>`confirmed_at` }).where('user_id', '=', userId).where('kind', '=', WEBAUTHN_KIND).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** The user's methods, this one included (one `factors` row each). */
async function countMethodRows(trx: Database, userId: string): Promise<number> {
  const row = await trx.selectFrom('factors').select((eb) => eb.fn.countAll<number>().as('count')).where('user_id', '=', userId).executeTakeFirst();
  return Number(row?.count ?? 0);
}

export type RemoveKeyOutcome = { ok: true } | { ok: false; reason: 'not_found' | 'last_method' };

/**
 * Removes one of the user's keys. The last key of a user whose only method it is stays: taking
 * 2FA off is "Disable Two Factor" (password or code), not this. Sessions stay, as when one of two
 * methods is removed.
 */
export async function removeSecurityKey(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'delivery' | 'log'>, subject: { userId: string; accountId: string; email: string; name: string }, keyId: string, origin: RequestOrigin): Promise<RemoveKeyOutcome> {
  const outcome = await deps.db.transaction().execute(async (trx): Promise<RemoveKeyOutcome & { keyName?: string }> => {
    // The same per-user lock as removing one of two methods (disable-two-factor.ts): otherwise the
    // last key and the other method, removed at the same moment, could both go (rules 6, 20).
    await lockUser(trx, subject.userId);
    if (!(await lockExistingMarker(trx, subject.userId))) return { ok: false, reason: 'not_found' };
    const key = await trx.selectFrom('webauthn_credentials').select(['id', 'name']).where('id', '=', keyId).where('user_id', '=', subject.userId).executeTakeFirst();
    if (!key) return { ok: false, reason: 'not_found' };
    const keys = await countSecurityKeys(trx, subject.userId);
    const lastKey = keys <= 1;
    if (lastKey && (await countMethodRows(trx, subject.userId)) <= 1) return { ok: false, reason: 'last_method' };
    await trx.deleteFrom('webauthn_credentials').where('id', '=', key.id).execute();
    await endAllTrustedBrowsers(trx, deps.clock, subject, 'factor_removed', { origin });
    if (lastKey) {
      await trx.deleteFrom('factors').where('user_id', '=', subject.userId).where('kind', '=', WEBAUTHN_KIND).execute();
      await trx.deleteFrom('webauthn_challenges').where('user_id', '=', subject.userId).execute();
    }
    await recordSecurityEvent(trx, deps.clock, {
      type: 'factor_removed',
      accountId: subject.accountId,
      actor: { kind: 'user', userId: subject.userId },
      subjectUserId: subject.userId,
      origin,
      detail: { methods: WEBAUTHN_KIND, all: false, keyName: key.name, keysLeft: keys - 1 },
    });
    // The notice is queued with the removal it reports (the durable delivery queue, issue 13).
    await queueSecurityNotice(deps, trx, { to: subject, kind: 'method_removed', text: methodRemovedEmail({ name: subject.name, methodName: `The security key "${key.name}"`, atMs: deps.clock.now(), origin }) });
    return { ok: true, keyName: key.name };
  });
  if (outcome.ok) {
    await deps.delivery.queue.afterCommit();
    return { ok: true };
  }
  return outcome;
}

/** Every key and challenge of the user, and the marker (inside the caller's transaction). */
export async function removeEverySecurityKey(trx: Database, userId: string): Promise<void> {
  await trx.deleteFrom('webauthn_credentials').where('user_id', '=', userId).execute();
  await trx.deleteFrom('webauthn_challenges').where('user_id', '=', userId).execute();
  await trx.deleteFrom('factors').where('user_id', '=', userId).where('kind', '=', WEBAUTHN_KIND).execute();
}
