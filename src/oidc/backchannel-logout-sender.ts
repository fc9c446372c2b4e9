/**
 * Sends the back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0) that
 * sessions/application-sessions.ts queued in `oidc_logout_notices` when a user's sessions ended.
 *
 * A stand-in until the durable delivery queue of src/delivery/ (issue 13) is on main: then
 * `sendDueNotices` becomes that queue's job handler and this module's timer goes away — the
 * notices are already durable rows written in the ending transaction, so nothing else changes.
 *
 * Every instance polls; a notice is claimed by one conditional update (its next attempt moved
 * past the request timeout), so one instance sends it. A refused or failed delivery is retried
 * with growing waits, six times in all, then dropped with a warning. Requests never wait for it.
 */
import { createPrivateKey, createSign, randomUUID } from 'node:crypto';
import type { Database } from '../storage/schema.ts';
import { findClientMetadata } from './clients.ts';
import type { PrivateJWK } from './signing-keys.ts';

const POLL_MS = 1000;
const REQUEST_TIMEOUT_MS = 5000;
const MAX_ATTEMPTS = 6;
const BATCH = 20;
const LOGOUT_TOKEN_LIFETIME_S = 120;
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutSenderLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface LogoutSender {
  issuer: string;
  signingKey: PrivateJWK;
  db: Database;
  log: LogoutSenderLog;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A logout token: a JWT signed like the ID tokens, naming the user and the session, never a nonce. */
export function logoutToken(sender: Pick<LogoutSender, 'issuer' | 'signingKey'>, notice: { clientId: string; userId: string; sid: string | null }): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: sender.signingKey.alg, kid: sender.signingKey.kid, typ: 'logout+jwt' };
  const claims = { iss: sender.issuer, aud: notice.clientId, iat: now, exp: now + LOGOUT_TOKEN_LIFETIME_S, jti: randomUUID(), sub: notice.userId, ...(notice.sid ? { sid: notice.sid } : {}), events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } };
  const signingInput = `${base64url(header)}.${base64url(claims)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(createPrivateKey({ key: sender.signingKey as any, format: 'jwk' }));
  return `${signingInput}.${signature.toString('base64url')}`;
}

async function deliver(uri: string, token: string): Promise<boolean> {
  try {
    const response = await fetch(uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 300;
  } catch {
    return false;
  }
}

/** Sends what is due now; answers how many were delivered. */
export async function sendDueNotices(sender: LogoutSender): Promise<number> {
  const { db } = sender;
  const now = Date.now();
  const due = await db.selectFrom('oidc_logout_notices').selectAll().where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(BATCH).execute();
  let delivered = 0;
  for (const notice of due) {
    const claimed = await db
      .updateTable('oidc_logout_notices')
      .set({ next_attempt_at: now + REQUEST_TIMEOUT_MS * 2, attempts: notice.attempts + 1 })
      .where('id', '=', notice.id)
      .where('next_attempt_at', '=', notice.next_attempt_at)
      .returning('id')
      .executeTakeFirst();
    if (!claimed) continue; // another instance took it
    const client = await findClientMetadata(db, notice.client_id);
    const uri = typeof client?.backchannel_logout_uri === 'string' ? client.backchannel_logout_uri : null;
    if (uri && (await deliver(uri, logoutToken(sender, { clientId: notice.client_id, userId: notice.user_id, sid: notice.sid })))) {
      delivered += 1;
      await db.deleteFrom('oidc_logout_notices').where('id', '=', notice.id).execute();
    } else if (!uri || notice.attempts + 1 >= MAX_ATTEMPTS) {
      // No URI (none registered, or the client was removed): nobody to tell.
      if (uri) sender.log.warn({ clientId: notice.client_id, attempts: notice.attempts + 1 }, 'back-channel logout not delivered; giving up');
      await db.deleteFrom('oidc_logout_notices').where('id', '=', notice.id).execute();
    } else {
      await db.updateTable('oidc_logout_notices').set({ next_attempt_at: Date.now() + 2 ** notice.attempts * 2000 }).where('id', '=', notice.id).execute();
    }
  }
  return delivered;
}

/** Polls for due notices until the returned function is called. */
export function startLogoutSender(sender: LogoutSender): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sendDueNotices(sender)
      .catch((error: unknown) => sender.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'sending back-channel logout tokens failed; trying again'))
      .finally(() => {
        running = false;
      });
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
