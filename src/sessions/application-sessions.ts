/**
 * A user's sign-ins to applications (OpenID Connect) end with their Twofold sessions (SECURITY.md
 * rule 41). Called by `revokeUserSessions`, in the same transaction: every code, access and
 * refresh token, grant and provider session of the user is deleted — a refresh token stops
 * working on the very next request, on every instance — and one back-channel logout notice per
 * application the user was signed in to is written to the durable delivery queue (channel
 * `backchannel_logout`, in that same transaction), whose worker sends it with its retries, backoff
 * and claims (oidc/backchannel-logout-sender.ts signs and posts it) — so the request that ended
 * the sessions never waits for an application, and a crash or an application that is down loses
 * no notice. Callers wake the queue once their transaction has committed.
 *
 * It works on the provider's rows directly (it lives here, below oidc/, because every domain
 * that ends sessions calls it): a provider session's payload lists, per client, the `sid` it
 * claimed.
 */
import type { DeliveryQueue } from '../delivery/delivery.ts';
import type { Database } from '../storage/schema.ts';

/** The delivery queue's channel of back-channel logout tokens. */
export const BACKCHANNEL_LOGOUT_CHANNEL = 'backchannel_logout';

/** What the queue keeps (encrypted) for one logout token: the sender signs the token when it sends. */
export interface LogoutNotice {
  clientId: string;
  userId: string;
  sid: string | null;
}

/** `enqueue` inside the transaction that ends the sessions; `wake` once it has committed. */
export type LogoutQueue = Pick<DeliveryQueue, 'enqueue' | 'wake'>;

async function queueNotices(trx: Database, queue: LogoutQueue, notices: LogoutNotice[]): Promise<void> {
  for (const notice of notices) await queue.enqueue(trx, BACKCHANNEL_LOGOUT_CHANNEL, notice, { kind: 'logout_token', userId: notice.userId });
}

interface ProviderSessionPayload {
  authorizations?: Record<string, { sid?: string }>;
}

export async function endApplicationSessions(db: Database, queue: LogoutQueue, userId: string): Promise<void> {
  const sessions = await db.selectFrom('oidc_payloads').select('payload').where('account_id', '=', userId).where('model', '=', 'Session').execute();
  const notices = sessions.flatMap((row) => {
    const payload = JSON.parse(row.payload) as ProviderSessionPayload;
    return Object.entries(payload.authorizations ?? {}).map(([clientId, authorization]) => ({ clientId, userId, sid: typeof authorization.sid === 'string' ? authorization.sid : null }));
  });
  await queueNotices(db, queue, notices);
  const grants = await db.selectFrom('oidc_payloads').select('id').where('account_id', '=', userId).where('model', '=', 'Grant').execute();
  // Tokens carry their user too; the grant ids also catch any row issued from the user's grants.
  if (grants.length > 0) await db.deleteFrom('oidc_payloads').where('grant_id', 'in', grants.map((grant) => grant.id)).execute();
  await db.deleteFrom('oidc_payloads').where('account_id', '=', userId).execute();
}

/**
 * Logging out of Twofold in a browser — or logging in again there, perhaps as someone else —
 * ends that browser's sign-in to applications too: the provider session its cookie names
 * (`_session`, oidc-provider's) is deleted with the grants it made, and each application in it is
 * told by back-channel logout. A provider session id is random from the provider and lives only
 * in that browser's cookie: holding it is what it takes to end it. Logging out ends it when it
 * is that user's (`of`); logging in ends it when it is someone else's (`unlessOf`) — the same
 * user logging in again (prompt=login, a step-up) keeps it, as the sign-in in progress needs it.
 */
export async function endBrowserApplicationSession(db: Database, queue: LogoutQueue, providerSessionId: string | undefined, whose: { of: string } | { unlessOf: string }): Promise<void> {
  if (!providerSessionId || providerSessionId.length > 128) return;
  let query = db.selectFrom('oidc_payloads').select(['payload', 'account_id']).where('model', '=', 'Session').where('id', '=', providerSessionId);
  query = 'of' in whose ? query.where('account_id', '=', whose.of) : query.where((eb) => eb.or([eb('account_id', 'is', null), eb('account_id', '!=', whose.unlessOf)]));
  const row = await query.executeTakeFirst();
  if (!row) return;
  const payload = JSON.parse(row.payload) as ProviderSessionPayload & { authorizations?: Record<string, { sid?: string; grantId?: string }> };
  const subject = row.account_id;
  const authorizations = Object.entries(payload.authorizations ?? {});
  if (subject) await queueNotices(db, queue, authorizations.map(([clientId, authorization]) => ({ clientId, userId: subject, sid: typeof authorization.sid === 'string' ? authorization.sid : null })));
  const grantIds = authorizations.map(([, authorization]) => authorization.grantId).filter((id): id is string => typeof id === 'string');
  if (grantIds.length > 0) {
    await db.deleteFrom('oidc_payloads').where('grant_id', 'in', grantIds).execute();
    await db.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', 'in', grantIds).execute();
  }
  await db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where('id', '=', providerSessionId).execute();
  queue.wake();
}
