/**
 * A user's own sessions (PRODUCT.md §2.11 "Sessions", §3 `/me/sessions`): the list, signing out
 * one, and signing out every other. A session is named by its `public_id` (migration 013), never
 * by its token or the token's hash, which the session read accepts in place of a token.
 *
 * Signing out writes `session_revoked` to the security log and ends the user's sign-ins to
 * applications the same way every other revocation does (application-sessions.ts: refresh tokens
 * stop at once, back-channel logout through the delivery queue; rule 41). An application's
 * sign-in belongs to a browser's provider session, which no Twofold session records, so it
 * cannot be told apart per session: signing out one session ends them all, erring on the side
 * of taking access away.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import type { Database } from '../storage/schema.ts';
import { endApplicationSessions } from './application-sessions.ts';
import { recordRevocations } from './revocation.ts';
import { revokeUserSessions } from './sessions.ts';

export interface SessionListEntry {
  id: string;
  /** As the browser sent it; users/user-agent.ts says what it is. */
  userAgent: string;
  ip: string;
  createdAt: number;
  lastSeenAt: number;
  /** The session that asked. */
  current: boolean;
}

/** Who asks: the user, their account, and the hash of the session making the request. */
export interface SessionOwner {
  userId: string;
  accountId: string;
  tokenHash: string;
}

type ListDeps = Pick<Deps, 'db' | 'clock' | 'delivery'>;

/** Newest activity first. Sessions past their expiry are ended by their next read, and swept; they may show until then. */
export async function listUserSessions(db: Database, owner: SessionOwner): Promise<SessionListEntry[]> {
  const rows = await db
    .selectFrom('sessions')
    .select(['token_hash', 'public_id', 'ip', 'user_agent', 'created_at', 'last_seen_at'])
    .where('user_id', '=', owner.userId)
    .where('public_id', 'is not', null)
    .orderBy('last_seen_at', 'desc')
    .orderBy('public_id')
    .execute();
  return rows.map((row) => ({ id: row.public_id!, userAgent: row.user_agent, ip: row.ip, createdAt: Number(row.created_at), lastSeenAt: Number(row.last_seen_at), current: row.token_hash === owner.tokenHash }));
}

/** Signs out one of the user's sessions; not_found for an id that is not theirs (another user's reads the same as none). */
export async function signOutSession(deps: ListDeps, owner: SessionOwner, sessionId: string, origin: RequestOrigin): Promise<{ ok: true } | { ok: false; reason: 'not_found' }> {
  const removed = await deps.db.transaction().execute(async (trx) => {
    // The browser that held it is told why on its next page; the session asking, signing itself
    // out, is not (as with its own logout).
    await recordRevocations(trx, owner.userId, 'signed_out_from_list', owner.tokenHash, sessionId);
    const row = await trx.deleteFrom('sessions').where('public_id', '=', sessionId).where('user_id', '=', owner.userId).returning('token_hash').executeTakeFirst();
    if (!row) return false;
    await endApplicationSessions(trx, deps.delivery.queue, owner.userId);
    await recordSecurityEvent(trx, deps.clock, { type: 'session_revoked', accountId: owner.accountId, actor: { kind: 'user', userId: owner.userId }, subjectUserId: owner.userId, origin, detail: { sessions: 1, current: row.token_hash === owner.tokenHash } });
    return true;
  });
  if (!removed) return { ok: false, reason: 'not_found' };
  deps.delivery.queue.wake();
  return { ok: true };
}

/** "Sign out other sessions": every session of the user but the one asking. */
export async function signOutOtherSessions(deps: ListDeps, owner: SessionOwner, origin: RequestOrigin): Promise<{ ended: number }> {
  const ended = await deps.db.transaction().execute(async (trx) => {
    const others = await trx.selectFrom('sessions').select((eb) => eb.fn.countAll<string | number>().as('n')).where('user_id', '=', owner.userId).where('token_hash', '!=', owner.tokenHash).executeTakeFirstOrThrow();
    await revokeUserSessions(trx, deps.delivery.queue, owner.userId, owner.tokenHash, 'signed_out_elsewhere');
    await recordSecurityEvent(trx, deps.clock, { type: 'session_revoked', accountId: owner.accountId, actor: { kind: 'user', userId: owner.userId }, subjectUserId: owner.userId, origin, detail: { sessions: Number(others.n), others: true } });
    return Number(others.n);
  });
  deps.delivery.queue.wake();
  return { ended };
}
