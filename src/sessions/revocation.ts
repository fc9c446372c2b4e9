/**
 * Why a session ended, for the browser that held it (issue 17: "You were signed out because …").
 * When sessions are ended by something other than their holder's own logout, each leaves its
 * token hash and a reason in `revoked_sessions`; the login page looks the dead cookie up there
 * once, says why, and clears the cookie. The record lives until the session would have expired
 * anyway (the sweep removes it), and is read only when a cookie names no session — never on the
 * hot path of a valid one.
 */
import { sql } from 'kysely';
import type { Clock } from '../clock.ts';
import { hashToken } from '../crypto/tokens.ts';
import type { Database } from '../storage/schema.ts';

export type RevocationReason =
  | 'password_changed'
  | 'password_reset'
  | 'two_factor_changed'
  | 'two_factor_disabled'
  | 'administrator'
  | 'support'
  | 'signed_out_elsewhere'
  | 'signed_out_from_list'
  | 'security_report'
  | 'revoked';

/** The sentence the login page shows; completes "You were signed out because …". */
export const revocationTexts: Record<RevocationReason, string> = {
  password_changed: 'You were signed out because your password was changed.',
  password_reset: 'You were signed out because your password was reset.',
  two_factor_changed: 'You were signed out because a new two-factor method was added to your account.',
  two_factor_disabled: 'You were signed out because two-factor authentication was turned off for your account.',
  administrator: 'You were signed out because an administrator deactivated your access.',
  support: 'You were signed out because support reset two-factor authentication for your account.',
  signed_out_elsewhere: 'You were signed out because you signed out your other sessions.',
  signed_out_from_list: 'You were signed out because this session was signed out from your list of sessions.',
  security_report: 'You were signed out because someone reported unexpected activity on your account.',
  revoked: 'You were signed out.',
};

function isRevocationReason(value: string): value is RevocationReason {
  return Object.hasOwn(revocationTexts, value);
}

/**
 * Records why the sessions about to be deleted end. One insert … select in the caller's
 * transaction, before the delete that ends them; a session already recorded keeps its first reason.
 * Every session of the user but `keepTokenHash` (the one asking, which ends by its own choice);
 * with `onlyPublicId`, just that one of them (a session signed out from the list).
 */
export async function recordRevocations(db: Database, userId: string, reason: RevocationReason, keepTokenHash?: string, onlyPublicId?: string): Promise<void> {
  await db
    .insertInto('revoked_sessions')
    .columns(['token_hash', 'user_id', 'reason', 'session_created_at'])
    .expression((eb) =>
      eb
        .selectFrom('sessions')
        .select(['sessions.token_hash', 'sessions.user_id', sql.lit(reason).as('reason'), 'sessions.created_at'])
        .where('sessions.user_id', '=', userId)
        .$if(keepTokenHash !== undefined, (query) => query.where('sessions.token_hash', '!=', keepTokenHash!))
        .$if(onlyPublicId !== undefined, (query) => query.where('sessions.public_id', '=', onlyPublicId!)),
    )
    .onConflict((oc) => oc.column('token_hash').doNothing())
    .execute();
}

/** Why the session of this (no longer valid) token ended, if it was ended for a reason worth telling. */
export async function revocationReasonOf(db: Database, clock: Clock, absoluteMs: number, token: string): Promise<RevocationReason | null> {
  const row = await db.selectFrom('revoked_sessions').select(['reason', 'session_created_at']).where('token_hash', '=', hashToken(token)).executeTakeFirst();
  if (!row || Number(row.session_created_at) + absoluteMs <= clock.now()) return null;
  return isRevocationReason(row.reason) ? row.reason : 'revoked';
}
