/**
 * Sends the back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0) that
 * sessions/application-sessions.ts queued when a user's sessions ended: the sender of the
 * delivery queue's `backchannel_logout` channel. The notices are queue messages written in the
 * transaction that ended the sessions, so the queue's worker gives them what it gives e-mail —
 * one claim per message across instances, retries with backoff (DELIVERY_RETRY_SECONDS,
 * DELIVERY_MAX_ATTEMPTS), leases taken back from a crashed instance — and requests never wait.
 *
 * The token is signed when it is sent (its `iat`/`exp` are the send's), with the current key.
 * A client removed meanwhile, or one with no back-channel URI, has nobody to tell: the message
 * counts as sent. An application that does not answer 2xx makes the try fail, to be retried.
 */
import { createPrivateKey, createSign, randomUUID } from 'node:crypto';
import type { ChannelSender } from '../delivery/queue/worker.ts';
import type { LogoutNotice } from '../sessions/application-sessions.ts';
import type { Database } from '../storage/schema.ts';
import { findClientMetadata } from './clients.ts';
import type { PrivateJWK } from './signing-keys.ts';

const REQUEST_TIMEOUT_MS = 5000;
const LOGOUT_TOKEN_LIFETIME_S = 120;
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutSender {
  issuer: string;
  signingKey: PrivateJWK;
  db: Database;
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

/** Posts the token; throws (the queue retries) unless the application answered 2xx. */
async function deliver(uri: string, token: string): Promise<void> {
  const response = await fetch(uri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  await response.body?.cancel();
  if (response.status < 200 || response.status >= 300) throw new Error(`the application's back-channel logout URI answered ${response.status}`);
}

/** The delivery queue's sender for the `backchannel_logout` channel. */
export function backchannelLogoutSender(sender: LogoutSender): ChannelSender {
  return async (payload) => {
    const notice = payload as LogoutNotice;
    const client = await findClientMetadata(sender.db, notice.clientId);
    const uri = typeof client?.backchannel_logout_uri === 'string' ? client.backchannel_logout_uri : null;
    if (!uri) return; // no URI (none registered, or the client was removed): nobody to tell
    await deliver(uri, logoutToken(sender, notice));
  };
}
